"""Door-drop eligibility for apps: checks at checkout, the customer's choice, the decision in force."""

from __future__ import annotations

from datetime import datetime

import msgspec

from courier_api.access import order_for
from courier_api.auth import Role
from courier_api.components.policy_catalog import PolicyCatalog
from courier_api.context import RequestContext
from courier_api.errors import Conflict, NotEligible
from courier_api.schemas.eligibility import DecisionView, DoorDropView
from eligibility import Decision, ItemFacts, OrderFacts, decide
from infra.documents import OrderSnapshot
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


async def check(ctx: RequestContext, snapshot: OrderSnapshot, at: datetime | None) -> DecisionView:
    """Evaluate a snapshot without storing anything (checkout), now or at `at`.

    Runs outside a transaction: it reads the database only when the in-memory policies and bars may be stale.
    """
    principal = ctx.principal
    principal.require("service", "customer")
    # A customer checks for themselves: their own bar counts, whatever id the snapshot names,
    # so nobody can probe whether another customer is barred.
    customer_id = principal.sub if principal.role == "customer" else snapshot.customer.id
    versions, barred = await ctx.catalog.versions_and_bar_from(ctx.db, customer_id)
    decision = decide(order_facts(snapshot, customer_barred=barred), versions, at or ctx.now)
    return DecisionView.of(decision, snapshot.customer.locale)


async def decision_for_order(
    uow: UnitOfWork, catalog: PolicyCatalog, order: OrderRecord, now: datetime
) -> Decision:
    """The decision for a stored order under the current snapshot, policy and bar."""
    versions, barred = await catalog.versions_and_bar(uow, order.customer_id)
    return decide(order_facts(order.snapshot, customer_barred=barred), versions, now)


async def door_drop_state(ctx: RequestContext, order_id: str) -> DoorDropView:
    order = await order_for(ctx.uow, ctx.principal, order_id, roles=DOOR_DROP_READERS)
    decision = await decision_for_order(ctx.uow, ctx.catalog, order, ctx.now)
    view = _door_drop_view(order, order.door_drop_enabled, decision)
    if ctx.principal.role == "courier":
        return DoorDropView(order_id=view.order_id, active=view.active)
    return view


async def choose_door_drop(ctx: RequestContext, order_id: str, enabled: bool) -> DoorDropView:
    """The customer opts in or out; opting in is refused with every reason when not eligible."""
    uow, principal = ctx.uow, ctx.principal
    order = await order_for(uow, principal, order_id, roles=DOOR_DROP_CHOOSERS, for_update=True)
    if order.status != "pending":
        raise Conflict("the delivery is already completed", code="order.already_delivered")
    decision = await decision_for_order(uow, ctx.catalog, order, ctx.now)
    await uow.decisions.record(
        order_id=order_id,
        enabled=enabled,
        eligible=decision.eligible,
        policy_version=decision.policy_version,
        reasons=[msgspec.to_builtins(reason) for reason in decision.reasons],
        decided_by=f"{principal.role}:{principal.sub}",
        decided_at=ctx.now,
    )
    if enabled and not decision.eligible:
        raise NotEligible(
            "door drop is not available for this order",
            decision=decision,
            locale=order.snapshot.customer.locale,
        )
    updated = await uow.orders.set_door_drop(order_id, enabled)
    return _door_drop_view(updated, enabled, decision)


def _door_drop_view(order: OrderRecord, enabled: bool, decision: Decision) -> DoorDropView:
    return DoorDropView(
        order_id=order.order_id,
        enabled=enabled,
        active=enabled and decision.eligible,
        decision=DecisionView.of(decision, order.snapshot.customer.locale),
    )
