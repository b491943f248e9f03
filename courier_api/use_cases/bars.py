"""Support bars a customer from door drops after confirmed fraud, and lifts the bar."""

from __future__ import annotations

import msgspec

from courier_api.context import RequestContext
from courier_api.errors import Conflict, NotFound
from courier_api.schemas.claims import BarHistory, BarView


async def bar_customer(ctx: RequestContext, customer_id: str, reason: str) -> BarView:
    ctx.principal.require("support")
    bar = await ctx.uow.bars.bar(customer_id=customer_id, reason=reason, barred_by=ctx.principal.sub)
    if bar is None:
        raise Conflict("the customer is already barred from door drops", code="bar.already_active")
    ctx.policies_changed()
    return msgspec.convert(bar, BarView, from_attributes=True)


async def lift_bar(ctx: RequestContext, customer_id: str) -> BarView:
    ctx.principal.require("support")
    bar = await ctx.uow.bars.lift(customer_id=customer_id, lifted_by=ctx.principal.sub)
    if bar is None:
        raise NotFound("bar")
    ctx.policies_changed()
    return msgspec.convert(bar, BarView, from_attributes=True)


async def bar_history(ctx: RequestContext, customer_id: str) -> BarHistory:
    ctx.principal.require("support", "admin")
    history = await ctx.uow.bars.history(customer_id)
    return BarHistory(
        customer_id=customer_id,
        barred=any(bar.lifted_at is None for bar in history),
        history=[msgspec.convert(bar, BarView, from_attributes=True) for bar in history],
    )
