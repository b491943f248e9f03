"""The upstream order system (role `service`), and staff reading orders back."""

from __future__ import annotations

from litestar import Controller, Response, get, put
from litestar.params import JSONBody

from courier_api.dependencies import Caller, Services
from courier_api.params import OrderId
from courier_api.schemas.orders import CourierAssignment, OrderSnapshot, OrderView
from courier_api.use_cases import orders


class ServiceOrdersController(Controller):
    path = "/v1/orders"
    tags = ["orders"]  # noqa: RUF012

    @put("/{order_id:str}")
    async def upsert(
        self, order_id: OrderId, data: JSONBody[OrderSnapshot], principal: Caller, services: Services
    ) -> Response[OrderView]:
        """Create (201) or replace (200) an order snapshot. Refused once the order was delivered."""
        view, created = await services.run(principal, orders.upsert_order, order_id, data)
        return Response(view, status_code=201 if created else 200)

    @put("/{order_id:str}/courier")
    async def assign_courier(
        self, order_id: OrderId, data: JSONBody[CourierAssignment], principal: Caller, services: Services
    ) -> OrderView:
        """Assign (or reassign) the courier who delivers the order."""
        return await services.run(principal, orders.assign_courier, order_id, data)

    @get("/{order_id:str}")
    async def read(self, order_id: OrderId, principal: Caller, services: Services) -> OrderView:
        """The order as stored, for service, support and admin."""
        return await services.run(principal, orders.read_order, order_id)
