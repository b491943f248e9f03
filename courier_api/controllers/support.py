"""Support CRM: evidence per order, claim decisions, door-drop bars."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import JSONBody

from courier_api.dependencies import Caller, Services
from courier_api.params import ClaimId, CourierId, CustomerId, DeviceId, OrderId
from courier_api.schemas.capture import CourierDevices, DeviceSummary
from courier_api.schemas.claims import ClaimDecisionRequest, ClaimView, OrderEvidence
from courier_api.use_cases import bars, claims, devices, evidence
from courier_api.use_cases.bars import BarHistory, BarRequest, BarView


class SupportController(Controller):
    path = "/v1/support"
    tags = ["support"]  # noqa: RUF012

    @get("/orders/{order_id:str}/evidence")
    async def order_evidence(self, order_id: OrderId, principal: Caller, services: Services) -> OrderEvidence:
        """Every attempt with every check, the original (short-lived URL) re-verified against its SHA-256,
        capture time and place, device, session, policy version, claims. Each read is audited."""
        return await services.run(principal, evidence.order_evidence, order_id)

    @post("/claims/{claim_id:str}/decision", status_code=200)
    async def decide(
        self, claim_id: ClaimId, data: JSONBody[ClaimDecisionRequest], principal: Caller, services: Services
    ) -> ClaimView:
        """Compensate (up to the order value) or reject, with a reason. Final; the customer is notified."""
        return await services.run(principal, claims.decide_claim, claim_id, data)

    @post("/customers/{customer_id:str}/door-drop-bar", status_code=201)
    async def bar(
        self, customer_id: CustomerId, data: JSONBody[BarRequest], principal: Caller, services: Services
    ) -> BarView:
        """Bar a customer from door drops after confirmed fraud (eligibility rule customer_barred)."""
        return await services.run(principal, bars.bar_customer, customer_id, data.reason)

    @delete("/customers/{customer_id:str}/door-drop-bar", status_code=200)
    async def lift(self, customer_id: CustomerId, principal: Caller, services: Services) -> BarView:
        """Lift the active bar; the history is kept."""
        return await services.run(principal, bars.lift_bar, customer_id)

    @get("/customers/{customer_id:str}/door-drop-bar")
    async def bar_history(self, customer_id: CustomerId, principal: Caller, services: Services) -> BarHistory:
        """Whether the customer is barred now, and every bar with who set and lifted it."""
        return await services.run(principal, bars.bar_history, customer_id)

    @get("/couriers/{courier_id:str}/devices")
    async def courier_devices(
        self, courier_id: CourierId, principal: Caller, services: Services
    ) -> CourierDevices:
        """Every device the courier enrolled: attestation level, platform, app id, enrolled and revoked when
        (support and admins)."""
        return await services.run(principal, devices.courier_devices, courier_id)

    @delete("/devices/{device_id:str}", status_code=200)
    async def revoke_device(
        self, device_id: DeviceId, principal: Caller, services: Services
    ) -> DeviceSummary:
        """Revoke a device (lost, stolen, suspected of forgery): its open capture sessions and uploads are
        refused with `device.revoked` from now on. Audited (`device.revoke`); revoking again changes nothing."""
        return await services.run(principal, devices.revoke_device, device_id)
