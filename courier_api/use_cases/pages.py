"""What the server-rendered pages show, composed from the use cases that own the logic.

Nothing here decides anything new: the customer's page is `claims.customer_delivery` plus the locale the
order carries; support's page is `evidence.order_evidence` (which audits the view) plus the customer's
bar history and the order's audit trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from courier_api.auth import Principal
from courier_api.schemas.claims import AuditEntry, BarHistory, CustomerDelivery, OrderEvidence
from courier_api.schemas.orders import Locale, OrderSnapshot
from courier_api.use_cases import bars, claims, evidence
from courier_api.use_cases.access import order_for
from infra.repositories import UnitOfWork
from infra.storage import ObjectStore

AUDIT_TRAIL_LIMIT = 200


class CustomerPage(msgspec.Struct, frozen=True, kw_only=True):
    delivery: CustomerDelivery
    locale: Locale


class SupportPage(msgspec.Struct, frozen=True, kw_only=True):
    evidence: OrderEvidence
    order_value_kopecks: int
    # What a payout may still be: the order value less what its claims were already paid.
    compensation_left_kopecks: int
    bar: BarHistory
    audit: list[AuditEntry]


async def customer_page(
    uow: UnitOfWork,
    store: ObjectStore,
    principal: Principal,
    order_id: str,
    *,
    now: datetime,
    url_ttl_s: int,
    claim_window: timedelta,
) -> CustomerPage:
    """The customer's delivery view, in the language the order was placed in."""
    delivery = await claims.customer_delivery(
        uow, store, principal, order_id, now=now, url_ttl_s=url_ttl_s, claim_window=claim_window
    )
    order = await order_for(uow, principal, order_id, roles=("customer",))
    snapshot = msgspec.convert(order.snapshot, OrderSnapshot)
    return CustomerPage(delivery=delivery, locale=snapshot.customer.locale)


async def support_page(
    uow: UnitOfWork,
    store: ObjectStore,
    principal: Principal,
    order_id: str,
    *,
    now: datetime,
    url_ttl_s: int,
    claim_window: timedelta,
) -> SupportPage:
    """The evidence (an audited view), the order value, the customer's bars and who looked at what."""
    seen = await evidence.order_evidence(
        uow, store, principal, order_id, now=now, url_ttl_s=url_ttl_s, claim_window=claim_window
    )
    order = await order_for(uow, principal, order_id, roles=("support",))
    rows = await uow.audit.search(order_id=order_id, actor_id=None, before_id=None, limit=AUDIT_TRAIL_LIMIT)
    return SupportPage(
        evidence=seen,
        order_value_kopecks=claims.order_value(order.snapshot),
        compensation_left_kopecks=await claims.compensation_left(uow, order),
        bar=await bars.bar_history(uow, principal, seen.customer_id),
        audit=[msgspec.convert(row, AuditEntry, from_attributes=True) for row in rows],
    )
