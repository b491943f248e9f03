"""Door-drop eligibility for apps: checks at checkout, the customer's choice, the decision in force."""

from __future__ import annotations

from datetime import datetime

import msgspec

from courier_api.auth import Principal, Role
from courier_api.errors import Conflict, NotEligible
from courier_api.schemas.eligibility import DecisionView, DoorDropView, ReasonView
from courier_api.schemas.orders import OrderSnapshot
from courier_api.use_cases.access import order_for
from courier_api.use_cases.policy_catalog import PolicyCatalog
from eligibility import Decision, ItemFacts, OrderFacts, Reason, decide
from infra.database import Database
from infra.repositories import UnitOfWork
from infra.repositories.orders import OrderRecord

DOOR_DROP_READERS: tuple[Role, ...] = ("customer", "courier", "support", "service")
DOOR_DROP_CHOOSERS: tuple[Role, ...] = ("customer", "service")


def order_facts(snapshot: OrderSnapshot, *, customer_barred: bool) -> OrderFacts:
    return OrderFacts(
        delivery_method=snapshot.delivery_method,
        payment=snapshot.payment,
        city=snapshot.city,
        customer_barred=customer_barred,
        items=tuple(
            ItemFacts(
                sku=item.sku,
                category=item.category,
                attributes=tuple(item.attributes),
                unit_price_kopecks=item.unit_price_kopecks,
                quantity=item.quantity,
                dimensions_mm=item.dimensions_mm,
                weight_g=item.weight_g,
            )
            for item in snapshot.items
        ),
    )


def reason_view(reason: Reason, locale: str) -> ReasonView:
    return ReasonView(
        code=reason.code,
        message=reason.message_ru if locale == "ru" else reason.message_en,
        messages={"ru": reason.message_ru, "en": reason.message_en},
        sku=reason.sku,
        category=reason.category,
        attribute=reason.attribute,
        limit=reason.limit,
        actual=reason.actual,
    )


def decision_view(decision: Decision, locale: str) -> DecisionView:
    return DecisionView(
        eligible=decision.eligible,
        reasons=[reason_view(reason, locale) for reason in decision.reasons],
        policy_version=decision.policy_version,
        evaluated_at=decision.evaluated_at,
    )


async def check(
    db: Database, catalog: PolicyCatalog, principal: Principal, snapshot: OrderSnapshot, at: datetime
) -> DecisionView:
    """Evaluate a snapshot without storing anything (checkout)."""
    principal.require("service", "customer")
    # A customer checks for themselves: their own bar counts, whatever id the snapshot names,
    # so nobody can probe whether another customer is barred.
    customer_id = principal.sub if principal.role == "customer" else snapshot.customer.id
    versions, barred = await catalog.versions_and_bar_from(db, customer_id)
    decision = decide(order_facts(snapshot, customer_barred=barred), versions, at)
    return decision_view(decision, snapshot.customer.locale)


async def decision_for_order(
    uow: UnitOfWork, catalog: PolicyCatalog, order: OrderRecord, now: datetime
) -> Decision:
    """The decision for a stored order under the current snapshot, policy and bar."""
    snapshot = msgspec.convert(order.snapshot, OrderSnapshot)
    versions, barred = await catalog.versions_and_bar(uow, order.customer_id)
    return decide(order_facts(snapshot, customer_barred=barred), versions, now)


async def door_drop_state(
    uow: UnitOfWork, catalog: PolicyCatalog, principal: Principal, order_id: str, now: datetime
) -> DoorDropView:
    order = await order_for(uow, principal, order_id, roles=DOOR_DROP_READERS)
    decision = await decision_for_order(uow, catalog, order, now)
    view = _door_drop_view(order, order.door_drop_enabled, decision)
    if principal.role == "courier":
        return DoorDropView(order_id=view.order_id, active=view.active)
    return view


async def choose_door_drop(
    uow: UnitOfWork, catalog: PolicyCatalog, principal: Principal, order_id: str, enabled: bool, now: datetime
) -> DoorDropView:
    """The customer opts in or out; opting in is refused with every reason when not eligible."""
    order = await order_for(uow, principal, order_id, roles=DOOR_DROP_CHOOSERS, for_update=True)
    if order.status != "pending":
        raise Conflict("the delivery is already completed", code="order.already_delivered")
    decision = await decision_for_order(uow, catalog, order, now)
    await uow.decisions.record(
        order_id=order_id,
        enabled=enabled,
        eligible=decision.eligible,
        policy_version=decision.policy_version,
        reasons=[msgspec.to_builtins(reason) for reason in decision.reasons],
        decided_by=f"{principal.role}:{principal.sub}",
        decided_at=now,
    )
    if enabled and not decision.eligible:
        locale = str(order.snapshot.get("customer", {}).get("locale", "ru"))
        view = decision_view(decision, locale)
        raise NotEligible(
            "door drop is not available for this order",
            reasons=[msgspec.to_builtins(reason) for reason in view.reasons],
            policy_version=decision.policy_version,
        )
    updated = await uow.orders.set_door_drop(order_id, enabled)
    return _door_drop_view(updated, enabled, decision)


def _door_drop_view(order: OrderRecord, enabled: bool, decision: Decision) -> DoorDropView:
    locale = str(order.snapshot.get("customer", {}).get("locale", "ru"))
    return DoorDropView(
        order_id=order.order_id,
        enabled=enabled,
        active=enabled and decision.eligible,
        decision=decision_view(decision, locale),
    )
