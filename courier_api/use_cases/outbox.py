"""Support's view of undeliverable notifications, and putting one back in the queue."""

from __future__ import annotations

from courier_api.auth import Role
from courier_api.context import RequestContext
from courier_api.errors import Conflict, NotFound
from courier_api.schemas.outbox import DeadLetters, OutboxEntryView
from courier_api.schemas.records import view_of
from infra.repositories.outbox import OutboxEntry

OUTBOX_STAFF: tuple[Role, ...] = ("support", "admin")


def entry_view(entry: OutboxEntry) -> OutboxEntryView:
    order_id = entry.payload.get("orderId")
    return view_of(
        OutboxEntryView,
        entry,
        event_id=str(entry.event_id),
        order_id=order_id if isinstance(order_id, str) else None,
    )


async def list_dead_letters(ctx: RequestContext, *, limit: int) -> DeadLetters:
    """Notifications the worker gave up on, newest first, with the queue's counts per status."""
    ctx.principal.require(*OUTBOX_STAFF)
    uow = ctx.uow
    entries = await uow.outbox.list_dead(limit=limit)
    return DeadLetters(items=[entry_view(e) for e in entries], counts=await uow.outbox.counts_by_status())


async def retry_dead_letter(ctx: RequestContext, entry_id: int) -> OutboxEntryView:
    """Queue a dead letter again with a fresh attempt budget (e.g. after the gateway was fixed)."""
    ctx.principal.require(*OUTBOX_STAFF)
    uow = ctx.uow
    retried = await uow.outbox.retry_dead(entry_id, now=ctx.now)
    if retried is not None:
        return entry_view(retried)
    if await uow.outbox.get(entry_id) is None:
        raise NotFound("outbox_entry")
    raise Conflict("only a dead letter can be retried", code="outbox.not_dead")
