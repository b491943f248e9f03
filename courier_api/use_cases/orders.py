"""Orders from the upstream system: upsert, assign a courier, read back."""

from __future__ import annotations

from courier_api.auth import Role
from courier_api.context import RequestContext
from courier_api.errors import Conflict, NotFound
from courier_api.schemas.orders import CourierAssignment, OrderSnapshot, OrderView
from courier_api.schemas.records import view_of
from infra.repositories.orders import OrderRecord

STAFF_READERS: tuple[Role, ...] = ("service", "support", "admin")


def order_view(record: OrderRecord) -> OrderView:
    return view_of(OrderView, record, order=record.snapshot)


async def upsert_order(ctx: RequestContext, order_id: str, snapshot: OrderSnapshot) -> tuple[OrderView, bool]:
    """Create or replace an order snapshot; a delivered order is frozen."""
    ctx.principal.require("service")
    uow = ctx.uow
    existing = await uow.orders.get(order_id, for_update=True)
    if existing is not None and existing.status != "pending":
        raise Conflict(
            "the order was already delivered; its snapshot can no longer change",
            code="order.already_delivered",
        )
    record, created = await uow.orders.upsert(
        order_id=order_id,
        customer_id=snapshot.customer.id,
        city=snapshot.city,
        label_code=snapshot.label_code,
        snapshot=snapshot,
    )
    return order_view(record), created


async def assign_courier(ctx: RequestContext, order_id: str, assignment: CourierAssignment) -> OrderView:
    ctx.principal.require("service")
    uow = ctx.uow
    existing = await uow.orders.get(order_id, for_update=True)
    if existing is None:
        raise NotFound("order")
    if existing.status != "pending":
        raise Conflict("the order was already delivered", code="order.already_delivered")
    record = await uow.orders.assign_courier(order_id, assignment.courier_id, assignment.courier_first_name)
    assert record is not None
    return order_view(record)


async def read_order(ctx: RequestContext, order_id: str) -> OrderView:
    ctx.principal.require(*STAFF_READERS)
    record = await ctx.uow.orders.get(order_id)
    if record is None:
        raise NotFound("order")
    return order_view(record)
