"""Customer bars: support bars a customer from door drops after confirmed fraud, and lifts the bar.

The whole concept, in one place per layer: these use cases and their wire structs; the SQL in
`infra/repositories/bars.py`; the set of barred customers each decision reads in
`components/policy_catalog.py`; the eligibility rule `customer_barred` in `eligibility/`. The JSON
handlers (`controllers/support.py`) and the page forms (`web/support.py`) only call these.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from courier_api.context import RequestContext
from courier_api.errors import Conflict, NotFound
from courier_api.schemas.claims import ReasonText
from infra.documents import WireStruct


class BarRequest(WireStruct):
    reason: ReasonText


class BarView(WireStruct):
    customer_id: str
    reason: str
    barred_by: str
    barred_at: datetime
    lifted_by: str | None = None
    lifted_at: datetime | None = None


class BarHistory(WireStruct):
    customer_id: str
    barred: bool
    history: list[BarView]


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
