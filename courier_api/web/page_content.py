"""What the server-rendered pages show, composed from the use cases that own the logic.

Nothing here decides anything new: the customer's page is `claims.delivery_of` plus the locale the order
carries; support's page is `evidence.evidence_of` (which audits the view) plus the order value, the
customer's bar history and the order's audit trail. Each page reads its order once.
It sits with the pages because it serves one presentation; like a use case it runs on a
`RequestContext` and never imports litestar (an import-linter contract).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from courier_api.access import order_for
from courier_api.auth import Principal
from courier_api.context import RequestContext
from courier_api.schemas.claims import AuditEntry, CustomerDelivery, IncidentReport, OrderEvidence
from courier_api.schemas.orders import Locale
from courier_api.use_cases import bars, claims, evidence, incidents
from courier_api.use_cases.bars import BarHistory
from eligibility.city_time_zones import city_time_zone

AUDIT_TRAIL_LIMIT = 200


class CustomerPage(msgspec.Struct, frozen=True, kw_only=True):
    viewer: Principal
    delivery: CustomerDelivery
    locale: Locale
    time_zone: str  # the order's city's: the page shows times as the customer's clock does


class SupportPage(msgspec.Struct, frozen=True, kw_only=True):
    viewer: Principal
    evidence: OrderEvidence
    time_zone: str  # the order's city's, so support reads times as the customer and the courier lived them
    order_value_kopecks: int
    # What a payout may still be: the order value less what its claims were already paid.
    compensation_left_kopecks: int
    bar: BarHistory
    audit: list[AuditEntry]


class IncidentsPage(msgspec.Struct, frozen=True, kw_only=True):
    viewer: Principal
    report: IncidentReport


async def customer_page(ctx: RequestContext, order_id: str) -> CustomerPage:
    """The customer's delivery view, in the language the order was placed in."""
    order = await order_for(ctx.uow, ctx.principal, order_id, roles=("customer",))
    delivery = await claims.delivery_of(ctx, order)
    return CustomerPage(
        viewer=ctx.principal,
        delivery=delivery,
        locale=order.snapshot.customer.locale,
        time_zone=city_time_zone(order.city),
    )


async def support_page(ctx: RequestContext, order_id: str) -> SupportPage:
    """The evidence (an audited view), the order value, the customer's bars and who looked at what."""
    order = await order_for(ctx.uow, ctx.principal, order_id, roles=("support",))
    seen = await evidence.evidence_of(ctx, order)
    rows = await ctx.uow.audit.search(
        order_id=order_id, actor_id=None, before_id=None, limit=AUDIT_TRAIL_LIMIT
    )
    return SupportPage(
        viewer=ctx.principal,
        evidence=seen,
        time_zone=city_time_zone(order.city),
        order_value_kopecks=claims.order_value(order),
        compensation_left_kopecks=await claims.compensation_left(ctx.uow, order),
        bar=await bars.bar_history(ctx, seen.customer_id),
        audit=[msgspec.convert(row, AuditEntry, from_attributes=True) for row in rows],
    )


async def incidents_page(ctx: RequestContext, start: datetime, end: datetime) -> IncidentsPage:
    """The admin's rollout-health report, for the chart and the table."""
    return IncidentsPage(viewer=ctx.principal, report=await incidents.incident_report(ctx, start, end))
