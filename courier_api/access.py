"""Object-level access: who may see which order. Another actor's order is 'not found', never 'forbidden'."""

from __future__ import annotations

from courier_api.auth import Principal, Role
from courier_api.errors import FreshSignInRequired, NotFound
from infra.repositories import UnitOfWork
from infra.repositories.orders import OrderRecord


def can_see(principal: Principal, order: OrderRecord) -> bool:
    if principal.order_scope is not None and principal.order_scope != order.order_id:
        return False
    match principal.role:
        case "customer":
            return order.customer_id == principal.sub
        case "courier":
            return order.courier_id == principal.sub
        case _:
            return True


async def order_for(
    uow: UnitOfWork, principal: Principal, order_id: str, *, roles: tuple[Role, ...], for_update: bool = False
) -> OrderRecord:
    """The order if this caller's role may act on it and it is theirs; else NotPermitted or NotFound."""
    principal.require(*roles)
    order = await uow.orders.get(order_id, for_update=for_update)
    if order is None or not can_see(principal, order):
        raise NotFound("order")
    return order


def require_full_sign_in(principal: Principal) -> None:
    """Refuse changes from a view-only principal (a notification link's): they need a real sign-in."""
    if principal.order_scope is not None:
        raise FreshSignInRequired("a notification link only shows the order; sign in to change anything")
