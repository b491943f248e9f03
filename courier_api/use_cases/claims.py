"""After the drop: the customer's view and claims, and support's decisions on them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec

from courier_api.access import order_for, require_full_sign_in
from courier_api.context import RequestContext
from courier_api.errors import Conflict, InvalidInput, NotFound
from courier_api.request_context import request_id_var
from courier_api.schemas.claims import (
    ClaimDecisionRequest,
    ClaimRequest,
    ClaimView,
    CustomerDelivery,
)
from infra.errors import ConflictingWrite
from infra.repositories import UnitOfWork
from infra.repositories.claims import ClaimRecord
from infra.repositories.orders import OrderRecord


def claim_view(claim: ClaimRecord) -> ClaimView:
    return msgspec.convert(claim, ClaimView, from_attributes=True)


async def customer_delivery(ctx: RequestContext, order_id: str) -> CustomerDelivery:
    """Status, when and by whom it was left, and a short-lived URL of the customer copy."""
    order = await order_for(ctx.uow, ctx.principal, order_id, roles=("customer",))
    return await delivery_of(ctx, order)


async def delivery_of(ctx: RequestContext, order: OrderRecord) -> CustomerDelivery:
    """`customer_delivery` for an order the caller already loaded (and may see)."""
    uow, principal, order_id = ctx.uow, ctx.principal, order.order_id
    url_ttl_s = ctx.config.photo_url_ttl_s
    claims = [claim_view(claim) for claim in await uow.claims.for_order(order_id)]
    photo_url = expires_at = deadline = None
    if order.accepted_photo_id is not None:
        attempt = await uow.attempts.get(order.accepted_photo_id)
        if attempt is not None and attempt.customer_copy_key and attempt.deleted_at is None:
            photo_url = ctx.store.presigned_get_url(attempt.customer_copy_key, ttl_s=url_ttl_s)
            expires_at = ctx.now + timedelta(seconds=url_ttl_s)
            await uow.audit.record(
                actor_role=principal.role,
                actor_id=principal.sub,
                action="customer_copy.url",
                order_id=order_id,
                photo_id=attempt.photo_id,
                request_id=request_id_var.get(),
            )
    deadline = claim_deadline(order, ctx.config.claim_window)
    return CustomerDelivery(
        order_id=order.order_id,
        status=order.status,
        door_drop=order.door_drop_enabled,
        left_at=order.delivered_at,
        courier_first_name=order.courier_first_name,
        photo_url=photo_url,
        photo_url_expires_at=expires_at,
        claim_deadline=deadline,
        claims=claims,
    )


def claim_deadline(order: OrderRecord, claim_window: timedelta) -> datetime | None:
    """The last moment for a claim: the window counts from when the server accepted the photo, or
    from when the customer was told, whichever is later; never from the courier's claimed capture time."""
    if order.delivered_at is None:
        return None
    notified = order.customer_notified_at
    start = order.delivered_at if notified is None else max(order.delivered_at, notified)
    return start + claim_window


async def _notice_still_due(uow: UnitOfWork, order: OrderRecord) -> bool:
    # A customer whose "left at your door" notice has not gone out yet cannot be late.
    if order.customer_notified_at is not None or order.accepted_photo_id is None:
        return False
    return await uow.outbox.still_being_delivered(order.accepted_photo_id)


async def open_claim(ctx: RequestContext, order_id: str, request: ClaimRequest) -> ClaimView:
    """'It is not there': open a claim within the window after the drop; one open claim per order."""
    uow, principal, now, claim_window = ctx.uow, ctx.principal, ctx.now, ctx.config.claim_window
    require_full_sign_in(principal)
    await ctx.count("claim", principal.sub)
    order = await order_for(uow, principal, order_id, roles=("customer",), for_update=True)
    deadline = claim_deadline(order, claim_window)
    if order.status != "left_at_door" or deadline is None:
        raise Conflict(
            "a claim can be opened only after the parcel was left at the door", code="claim.not_delivered"
        )
    if now > deadline and not await _notice_still_due(uow, order):
        raise Conflict(
            f"claims are accepted within {claim_window.days} days of being told of the drop",
            code="claim.window_closed",
        )
    # Decisions are final for the order, not only for the claim: a new claim after a payout (or a
    # rejection) is how an order got paid twice. Read under the order's row lock, which decide_claim
    # takes too, so a decision committing right now is seen here.
    if await uow.claims.has_decided(order_id):
        raise Conflict(
            "this order's claim was already decided; decisions are final", code="claim.already_decided"
        )
    try:
        claim = await uow.claims.open(
            order_id=order_id,
            customer_id=order.customer_id,
            kind=request.kind,
            comment=request.comment,
            at=now,
        )
    except ConflictingWrite as exc:
        raise Conflict("this order already has an open claim", code="claim.already_open") from exc
    await uow.outbox.enqueue(
        event_type="claim.opened",
        payload={"orderId": order_id, "claimId": str(claim.claim_id)},
        event_id=claim.claim_id,
    )
    return claim_view(claim)


async def decide_claim(ctx: RequestContext, claim_id: uuid.UUID, request: ClaimDecisionRequest) -> ClaimView:
    """Support's final decision: compensate (up to what remains of the order value) or reject, with a reason."""
    uow, principal = ctx.uow, ctx.principal
    principal.require("support")
    found = await uow.claims.get(claim_id)
    if found is None:
        raise NotFound("claim")
    # The order's row lock first, as open_claim takes it: decisions and new claims on one order run one
    # at a time, so what its other claims were paid is read after any racing payout has committed. A
    # read-then-write check without it lets two payouts each see the whole value still unpaid.
    order = await uow.orders.get(found.order_id, for_update=True)
    claim = await uow.claims.get(claim_id, for_update=True)
    assert order is not None  # claims reference their order; orders are never deleted
    assert claim is not None
    if claim.status != "open":
        raise Conflict("the claim was already decided; decisions are final", code="claim.already_decided")
    amount = request.amount_kopecks
    if request.decision == "compensate":
        if amount is None:
            raise InvalidInput(
                "compensation needs amountKopecks", field="amountKopecks", code="claim.amount_required"
            )
        left = await compensation_left(uow, order)
        if amount > left:
            value = order_value(order)
            raise InvalidInput(
                f"compensation may not exceed what remains of the order value: {left} of {value} kopecks",
                field="amountKopecks",
                code="claim.amount_over_value",
            )
    elif amount is not None:
        raise InvalidInput(
            "a rejection carries no amount", field="amountKopecks", code="claim.amount_on_reject"
        )
    decided = await uow.claims.decide(
        claim_id,
        decision=request.decision,
        amount_kopecks=amount,
        reason=request.reason,
        decided_by=principal.sub,
        at=ctx.now,
    )
    if decided is None:
        raise Conflict("the claim was already decided; decisions are final", code="claim.already_decided")
    payload: dict[str, object] = {
        "orderId": claim.order_id,
        "claimId": str(claim_id),
        "decision": request.decision,
    }
    if amount is not None:
        payload["amountKopecks"] = amount
    await uow.outbox.enqueue(
        event_type="claim.decided", payload=payload, event_id=uuid.uuid5(claim_id, "decided")
    )
    return claim_view(decided)


async def compensation_left(uow: UnitOfWork, order: OrderRecord) -> int:
    """The order value not yet paid out over all the order's claims: the most a new payout may be."""
    return max(0, order_value(order) - await uow.claims.compensated_kopecks(order.order_id))


def order_value(order: OrderRecord) -> int:
    return sum(item.unit_price_kopecks * item.quantity for item in order.snapshot.items)
