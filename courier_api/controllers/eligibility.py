"""Door-drop eligibility for the checkout, the customer's choice, and what couriers see."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.params import JSONBody

from courier_api.dependencies import Caller, Services
from courier_api.params import OrderId
from courier_api.schemas.eligibility import DecisionView, DoorDropChoice, DoorDropView, EligibilityCheck
from courier_api.use_cases import eligibility


class EligibilityController(Controller):
    tags = ["eligibility"]  # noqa: RUF012

    @post("/v1/eligibility/check", status_code=200)
    async def check(
        self, data: JSONBody[EligibilityCheck], principal: Caller, services: Services
    ) -> DecisionView:
        """Would this order be eligible for door drop now (or at `at`)? Stores nothing.

        Roles: service, customer."""
        return await services.run_without_transaction(principal, eligibility.check, data.order, data.at)

    @get("/v1/orders/{order_id:str}/door-drop")
    async def state(self, order_id: OrderId, principal: Caller, services: Services) -> DoorDropView:
        """Whether the customer opted in and the decision evaluated now.

        Roles: owning customer, assigned courier, support, service.
        """
        return await services.run(principal, eligibility.door_drop_state, order_id)

    @put("/v1/orders/{order_id:str}/door-drop")
    async def choose(
        self, order_id: OrderId, data: JSONBody[DoorDropChoice], principal: Caller, services: Services
    ) -> DoorDropView:
        """Opt in or out of door drop until the delivery is completed; opting in when not eligible is a 409
        `door_drop.not_eligible` listing every reason. Roles: owning customer, service."""
        return await services.run(principal, eligibility.choose_door_drop, order_id, data.enabled)
