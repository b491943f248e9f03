"""Support's view of the evidence for an order. Every view is written to the audit log."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from courier_api.access import order_for
from courier_api.context import RequestContext
from courier_api.formats import map_url
from courier_api.request_context import request_id_var
from courier_api.schemas.claims import (
    AttemptEvidence,
    AuditEntry,
    DecisionRecordView,
    OrderEvidence,
    StoredEvidence,
)
from courier_api.schemas.records import view_of
from courier_api.use_cases.claims import claim_deadline, claim_view
from infra.repositories.capture import AttemptRecord
from infra.repositories.orders import OrderRecord
from infra.storage import ObjectStore


async def order_evidence(ctx: RequestContext, order_id: str) -> OrderEvidence:
    """Every attempt with every check, the accepted original re-verified, the claims and the decision."""
    order = await order_for(ctx.uow, ctx.principal, order_id, roles=("support",))
    return await evidence_of(ctx, order)


async def evidence_of(ctx: RequestContext, order: OrderRecord) -> OrderEvidence:
    """`order_evidence` for an order the caller already loaded (and may see); audited the same."""
    uow, principal, store, order_id = ctx.uow, ctx.principal, ctx.store, order.order_id
    url_ttl_s = ctx.config.photo_url_ttl_s
    snapshot = order.snapshot
    attempts = await uow.attempts.for_order(order_id)
    request_id = request_id_var.get()
    await uow.audit.record(
        actor_role=principal.role,
        actor_id=principal.sub,
        action="evidence.view",
        order_id=order_id,
        request_id=request_id,
    )
    views: list[AttemptEvidence] = []
    for attempt in attempts:
        original_url = None
        if attempt.deleted_at is None:
            original_url = store.presigned_get_url(attempt.original_key, ttl_s=url_ttl_s)
            await uow.audit.record(
                actor_role=principal.role,
                actor_id=principal.sub,
                action="evidence.original_url",
                order_id=order_id,
                photo_id=attempt.photo_id,
                request_id=request_id,
            )
        views.append(_attempt_view(attempt, store, original_url, url_ttl_s))
    accepted = next((a for a in attempts if a.accepted and a.deleted_at is None), None)
    stored = None
    if accepted is not None:
        original = next(v.original_url for v in views if v.photo_id == accepted.photo_id)
        assert original is not None
        stored = StoredEvidence(
            photo_id=accepted.photo_id,
            sha256=accepted.sha256,
            stored_object_matches=await store.hash_stored(accepted.original_key) == accepted.sha256,
            original_url=original,
            customer_copy_url=next(v.customer_copy_url for v in views if v.photo_id == accepted.photo_id),
            map_url=map_url(accepted.lat, accepted.lon),
        )
    decision = await uow.decisions.latest(order_id)
    sessions = sorted({a.session_id for a in attempts}, key=str)
    policy_versions = sorted(
        {
            s.policy_version
            for s in [await uow.sessions.get(sid) for sid in sessions]
            if s and s.policy_version
        }
    )
    return OrderEvidence(
        order_id=order.order_id,
        status=order.status,
        customer_id=order.customer_id,
        courier_id=order.courier_id,
        courier_first_name=order.courier_first_name,
        address_text=snapshot.address.text,
        address_lat=snapshot.address.lat,
        address_lon=snapshot.address.lon,
        door_drop_enabled=order.door_drop_enabled,
        left_at=order.delivered_at,
        last_door_drop_decision=None
        if decision is None
        else msgspec.convert(decision, DecisionRecordView, from_attributes=True),
        session_policy_versions=policy_versions,
        accepted=stored,
        attempts=views,
        claims=[claim_view(claim) for claim in await uow.claims.for_order(order_id)],
        urls_expire_at=ctx.now + timedelta(seconds=url_ttl_s),
        captured_at=order.captured_at,
        customer_notified_at=order.customer_notified_at,
        claim_deadline=claim_deadline(order, ctx.config.claim_window),
    )


def _attempt_view(
    attempt: AttemptRecord, store: ObjectStore, original_url: str | None, ttl_s: int
) -> AttemptEvidence:
    copy_url = None
    if attempt.customer_copy_key and attempt.deleted_at is None:
        copy_url = store.presigned_get_url(attempt.customer_copy_key, ttl_s=ttl_s)
    return view_of(
        AttemptEvidence,
        attempt,
        verdict="accepted" if attempt.accepted else "rejected",
        original_url=original_url,
        customer_copy_url=copy_url,
        evidence_deleted_at=attempt.deleted_at,
    )


async def audit_log(
    ctx: RequestContext,
    *,
    order_id: str | None,
    actor_id: str | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEntry]:
    """Who viewed which evidence, newest first (admins only)."""
    ctx.principal.require("admin")
    rows = await ctx.uow.audit.search(order_id=order_id, actor_id=actor_id, before_id=before_id, limit=limit)
    return [msgspec.convert(row, AuditEntry, from_attributes=True) for row in rows]
