"""The customer's account: the delivery with its photo, and claims."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from courier_api.dependencies import Caller, Services
from courier_api.params import OrderId
from courier_api.schemas.claims import ClaimRequest, ClaimView, CustomerDelivery
from courier_api.use_cases import claims


class CustomerController(Controller):
    path = "/v1/me/orders"
    tags = ["customer"]  # noqa: RUF012

    @get("/{order_id:str}/delivery")
    async def delivery(self, order_id: OrderId, principal: Caller, services: Services) -> CustomerDelivery:
        """Status, when it was left and by whom, and a short-lived URL of the photo (customer copy, no EXIF)."""
        return await services.run(principal, claims.customer_delivery, order_id)

    @post("/{order_id:str}/claims", status_code=201)
    async def open_claim(
        self, order_id: OrderId, data: JSONBody[ClaimRequest], principal: Caller, services: Services
    ) -> ClaimView:
        """'It is not there' (or wrong door, damaged): opens a claim within the window after the drop."""
        return await services.run(principal, claims.open_claim, order_id, data)
