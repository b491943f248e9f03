"""Support bars a customer from door drops after confirmed fraud, and lifts the bar."""

from __future__ import annotations

import msgspec

from courier_api.auth import Principal
from courier_api.errors import Conflict, NotFound
from courier_api.schemas.claims import BarHistory, BarView
from infra.repositories import UnitOfWork


async def bar_customer(uow: UnitOfWork, principal: Principal, customer_id: str, reason: str) -> BarView:
    principal.require("support")
    bar = await uow.bars.bar(customer_id=customer_id, reason=reason, barred_by=principal.sub)
    if bar is None:
        raise Conflict("the customer is already barred from door drops", code="bar.already_active")
    return msgspec.convert(bar, BarView, from_attributes=True)


async def lift_bar(uow: UnitOfWork, principal: Principal, customer_id: str) -> BarView:
    principal.require("support")
    bar = await uow.bars.lift(customer_id=customer_id, lifted_by=principal.sub)
    if bar is None:
        raise NotFound("bar")
    return msgspec.convert(bar, BarView, from_attributes=True)


async def bar_history(uow: UnitOfWork, principal: Principal, customer_id: str) -> BarHistory:
    principal.require("support", "admin")
    history = await uow.bars.history(customer_id)
    return BarHistory(
        customer_id=customer_id,
        barred=any(bar.lifted_at is None for bar in history),
        history=[msgspec.convert(bar, BarView, from_attributes=True) for bar in history],
    )
