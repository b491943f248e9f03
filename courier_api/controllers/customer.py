"""The customer's account: the delivery with its photo, and claims."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, get, post
from litestar.params import JSONBody

from courier_api.controllers.params import OrderId
from courier_api.dependencies import Caller, Services
from courier_api.schemas.claims import ClaimRequest, ClaimView, CustomerDelivery
from courier_api.use_cases import claims


class CustomerController(Controller):
    path = "/v1/me/orders"
    tags = ["customer"]  # noqa: RUF012

    @get("/{order_id:str}/delivery")
    async def delivery(self, order_id: OrderId, principal: Caller, services: Services) -> CustomerDelivery:
        """Status, when it was left and by whom, and a short-lived URL of the photo (customer copy, no EXIF)."""
        settings = services.settings
        async with services.db.transaction() as uow:
            return await claims.customer_delivery(
                uow,
                services.store,
                principal,
                order_id,
                now=services.now(),
                url_ttl_s=settings.photo_url_ttl_s,
                claim_window=timedelta(days=settings.claim_window_days),
            )

    @post("/{order_id:str}/claims", status_code=201)
    async def open_claim(
        self, order_id: OrderId, data: JSONBody[ClaimRequest], principal: Caller, services: Services
    ) -> ClaimView:
        """'It is not there' (or wrong door, damaged): opens a claim within the window after the drop."""
        async with services.db.transaction() as uow:
            await services.limits.check(uow, "claim", principal.sub, services.now())
            return await claims.open_claim(
                uow,
                principal,
                order_id,
                data,
                now=services.now(),
                claim_window=timedelta(days=services.settings.claim_window_days),
            )
