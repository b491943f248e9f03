"""After the drop: the customer's view and claims, and support's decisions on them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec

from courier_api.auth import Principal
from courier_api.errors import Conflict, InvalidInput, NotFound
from courier_api.request_context import request_id_var
from courier_api.schemas.claims import (
    ClaimDecisionRequest,
    ClaimRequest,
    ClaimView,
    CustomerDelivery,
)
from courier_api.schemas.orders import OrderSnapshot
from courier_api.use_cases.access import order_for, require_full_sign_in
from infra.errors import ConflictingWrite
from infra.repositories import UnitOfWork
from infra.repositories.claims import ClaimRecord
from infra.storage import ObjectStore


def claim_view(claim: ClaimRecord) -> ClaimView:
    return ClaimView(
        claim_id=claim.claim_id,
        order_id=claim.order_id,
        kind=claim.kind,
        comment=claim.comment,
        status=claim.status,
        created_at=claim.created_at,
        decision=claim.decision,
        amount_kopecks=claim.amount_kopecks,
        reason=claim.reason,
        decided_by=claim.decided_by,
        decided_at=claim.decided_at,
    )


async def customer_delivery(
    uow: UnitOfWork,
    store: ObjectStore,
    principal: Principal,
    order_id: str,
    *,
    now: datetime,
    url_ttl_s: int,
    claim_window: timedelta,
) -> CustomerDelivery:
    """Status, when and by whom it was left, and a short-lived URL of the customer copy."""
    order = await order_for(uow, principal, order_id, roles=("customer",))
    claims = [claim_view(claim) for claim in await uow.claims.for_order(order_id)]
    photo_url = expires_at = deadline = None
    if order.accepted_photo_id is not None:
        attempt = await uow.attempts.get(order.accepted_photo_id)
        if attempt is not None and attempt.customer_copy_key and attempt.deleted_at is None:
            photo_url = store.presigned_get_url(attempt.customer_copy_key, ttl_s=url_ttl_s)
            expires_at = now + timedelta(seconds=url_ttl_s)
            await uow.audit.record(
                actor_role=principal.role,
                actor_id=principal.sub,
                action="customer_copy.url",
                order_id=order_id,
                photo_id=attempt.photo_id,
                request_id=request_id_var.get(),
            )
    if order.delivered_at is not None:
        deadline = order.delivered_at + claim_window
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


async def open_claim(
    uow: UnitOfWork,
    principal: Principal,
    order_id: str,
    request: ClaimRequest,
    *,
    now: datetime,
    claim_window: timedelta,
) -> ClaimView:
    """'It is not there': open a claim within the window after the drop; one open claim per order."""
    require_full_sign_in(principal)
    order = await order_for(uow, principal, order_id, roles=("customer",), for_update=True)
    if order.status != "left_at_door" or order.delivered_at is None:
        raise Conflict(
            "a claim can be opened only after the parcel was left at the door", code="claim.not_delivered"
        )
    if now > order.delivered_at + claim_window:
        raise Conflict(
            f"claims are accepted within {claim_window.days} days of the drop", code="claim.window_closed"
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


async def decide_claim(
    uow: UnitOfWork,
    principal: Principal,
    claim_id: uuid.UUID,
    request: ClaimDecisionRequest,
    *,
    now: datetime,
) -> ClaimView:
    """Support's final decision: compensate (up to the order value) or reject, with a reason."""
    principal.require("support")
    claim = await uow.claims.get(claim_id, for_update=True)
    if claim is None:
        raise NotFound("claim")
    if claim.status != "open":
        raise Conflict("the claim was already decided; decisions are final", code="claim.already_decided")
    order = await uow.orders.get(claim.order_id)
    assert order is not None
    amount = request.amount_kopecks
    if request.decision == "compensate":
        value = order_value(order.snapshot)
        if amount is None:
            raise InvalidInput(
                "compensation needs amountKopecks", field="amountKopecks", code="claim.amount_required"
            )
        if amount > value:
            raise InvalidInput(
                f"compensation may not exceed the order value ({value} kopecks)",
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
        at=now,
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


def order_value(snapshot: dict[str, object]) -> int:
    order = msgspec.convert(snapshot, OrderSnapshot)
    return sum(item.unit_price_kopecks * item.quantity for item in order.items)
