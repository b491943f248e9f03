"""Outbox: notifications written with the state change that caused them, delivered later by the worker.

One row per event x channel, so a customer without email or a gateway that is down never holds up
the other channel. Rows move pending -> sending (leased) -> sent | skipped | dead, or back to pending
with a later `next_attempt_at` after a failed attempt. Times that drive delivery come from the caller
(`now`), so the worker's clock, not the database's, decides what is due: tests drive it without sleeping.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec

from infra.repositories.connection import Connection

OutboxStatus = Literal["pending", "sending", "sent", "dead", "skipped"]
OutboxChannel = Literal["webhook", "email"]
CHANNELS: tuple[OutboxChannel, ...] = ("webhook", "email")
MAX_ERROR_CHARS = 500
# First key of the two-key advisory locks that keep dedupe_key unique across partitions.
_DEDUPE_LOCK_NAMESPACE = 0x0D0E_0001


class OutboxBacklog(msgspec.Struct, frozen=True, kw_only=True):
    """What is still owed: the rows not yet settled, the oldest pending one, the dead letters."""

    pending: int
    sending: int
    dead: int
    oldest_pending_age_s: float | None


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    event_id: uuid.UUID
    event_type: str
    channel: OutboxChannel
    dedupe_key: str
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    leased_by: str | None
    leased_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


_COLUMNS = (
    "id, event_id, event_type, channel, dedupe_key, payload, status, attempts, next_attempt_at,"
    " leased_by, leased_until, last_error, created_at, updated_at, sent_at"
)
# The claim's update joins a CTE that also has `id`, so its returning list must be qualified.
_PREFIXED_COLUMNS = ", ".join(f"o.{column.strip()}" for column in _COLUMNS.split(","))


def dedupe_key(event_id: uuid.UUID, channel: str) -> str:
    """The key receivers use to drop repeats of one event on one channel."""
    return f"{event_id}:{channel}"


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def enqueue(
        self,
        *,
        event_type: str,
        payload: dict[str, Any],
        channels: Sequence[str] = CHANNELS,
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Record an event for delivery on each channel, inside the caller's transaction.

        The payload carries identifiers only (`orderId`, `claimId`, ...), never contact details: the
        worker reads those from the order when it sends. Pass `event_id` to make a replayed request
        a no-op (its dedupe keys already exist).
        """
        unknown = set(channels) - set(CHANNELS)
        if unknown or not channels:
            raise ValueError(f"unknown or no channels: {sorted(unknown)}")
        event = event_id or uuid.uuid4()
        keys = sorted(dedupe_key(event, channel) for channel in channels)
        # dedupe_key is unique by this lock, not by an index (a unique index on the monthly partitions
        # would have to include created_at, and a replay comes later). The lock queues a concurrent
        # replay until we commit; its insert then sees our rows. Taken in one order: no deadlock.
        await self._conn.execute(
            """
            select pg_advisory_xact_lock($1, k.h)
              from (select distinct hashtext(key) as h from unnest($2::text[]) as key) k order by k.h
            """,
            _DEDUPE_LOCK_NAMESPACE,
            keys,
        )
        await self._conn.execute(
            """
            insert into outbox (event_id, event_type, channel, dedupe_key, payload)
            select $1::uuid, $2::text, split_part(key, ':', 2), key, $4::jsonb
              from unnest($3::text[]) as key
             where not exists (select 1 from outbox o where o.dedupe_key = key)
            """,
            event,
            event_type,
            keys,
            payload,
        )
        return event

    async def claim_batch(
        self, *, worker_id: str, limit: int, lease_s: float, now: datetime
    ) -> list[OutboxEntry]:
        """Lease up to `limit` due rows to this worker; rows of a worker whose lease ran out come back.

        SKIP LOCKED lets several workers claim at once without waiting on or double-taking a row;
        the attempt is counted here, so a row that crashes its worker every time still ends up dead.
        """
        rows = await self._conn.fetch(
            f"""
            with due as (
                select id from outbox
                 where (status = 'pending' and next_attempt_at <= $1)
                    or (status = 'sending' and leased_until < $1)
                 order by next_attempt_at, id
                 limit $2
                 for update skip locked
            )
            update outbox o
               set status = 'sending', attempts = o.attempts + 1, leased_by = $3,
                   leased_until = $1 + make_interval(secs => $4), updated_at = $1
              from due
             where o.id = due.id
            returning {_PREFIXED_COLUMNS}
            """,  # noqa: S608
            now,
            limit,
            worker_id,
            lease_s,
        )
        return sorted((msgspec.convert(row, OutboxEntry) for row in rows), key=lambda e: e.id)

    async def mark_sent(self, entry_id: int, *, worker_id: str, now: datetime) -> bool:
        """Record a delivery; False when this worker no longer holds the lease."""
        return await self._finish(entry_id, worker_id, "sent", now, None, sent=True)

    async def mark_skipped(self, entry_id: int, *, worker_id: str, now: datetime, reason: str) -> bool:
        """The channel is not configured or does not apply (e.g. no email address)."""
        return await self._finish(entry_id, worker_id, "skipped", now, reason)

    async def mark_dead(self, entry_id: int, *, worker_id: str, now: datetime, error: str) -> bool:
        """Give up: support sees the row in the dead-letter list and may retry it."""
        return await self._finish(entry_id, worker_id, "dead", now, error)

    async def mark_failed(
        self, entry_id: int, *, worker_id: str, now: datetime, next_attempt_at: datetime, error: str
    ) -> bool:
        """Release the lease and schedule another attempt (attempts were counted at claim time)."""
        result = await self._conn.execute(
            """
            update outbox
               set status = 'pending', next_attempt_at = $3, last_error = $4, updated_at = $5,
                   leased_by = null, leased_until = null
             where id = $1 and status = 'sending' and leased_by = $2
            """,
            entry_id,
            worker_id,
            next_attempt_at,
            _truncate(error),
            now,
        )
        return result == "UPDATE 1"

    async def list_dead(self, *, limit: int = 100) -> list[OutboxEntry]:
        """Dead letters, most recently given up first."""
        rows = await self._conn.fetch(
            f"select {_COLUMNS} from outbox where status = 'dead' order by updated_at desc, id desc limit $1",  # noqa: S608
            limit,
        )
        return [msgspec.convert(row, OutboxEntry) for row in rows]

    async def get(self, entry_id: int, *, for_update: bool = False) -> OutboxEntry | None:
        lock = " for update" if for_update else ""
        row = await self._conn.fetchrow(f"select {_COLUMNS} from outbox where id = $1{lock}", entry_id)  # noqa: S608
        return None if row is None else msgspec.convert(row, OutboxEntry)

    async def for_events(self, event_ids: Sequence[uuid.UUID]) -> list[OutboxEntry]:
        """Every row of these events (support tooling and tests)."""
        rows = await self._conn.fetch(
            f"select {_COLUMNS} from outbox where event_id = any($1::uuid[]) order by id",  # noqa: S608
            list(event_ids),
        )
        return [msgspec.convert(row, OutboxEntry) for row in rows]

    async def still_being_delivered(self, event_id: uuid.UUID) -> bool:
        """Whether any channel of this event is still due to be sent (pending or being sent)."""
        found = await self._conn.fetchval(
            "select exists(select 1 from outbox where event_id = $1 and status in ('pending', 'sending'))",
            event_id,
        )
        return bool(found)

    async def events_for_order(self, event_type: str, order_id: str) -> list[dict[str, Any]]:
        """The distinct payloads of one event type about one order (support views and tests)."""
        rows = await self._conn.fetch(
            """
            select distinct on (event_id) payload from outbox
             where event_type = $1 and payload->>'orderId' = $2 order by event_id
            """,
            event_type,
            order_id,
        )
        return [dict(row["payload"]) for row in rows]

    async def retry_dead(self, entry_id: int, *, now: datetime) -> OutboxEntry | None:
        """Put a dead letter back in the queue with a fresh attempt budget; None if it is not dead."""
        row = await self._conn.fetchrow(
            f"""
            update outbox
               set status = 'pending', attempts = 0, next_attempt_at = $2, updated_at = $2
             where id = $1 and status = 'dead'
            returning {_COLUMNS}
            """,  # noqa: S608
            entry_id,
            now,
        )
        return None if row is None else msgspec.convert(row, OutboxEntry)

    async def counts_by_status(self) -> dict[str, int]:
        """How many rows are in each state (every state listed, zero included)."""
        rows = await self._conn.fetch("select status, count(*) as n from outbox group by status")
        counts = dict.fromkeys(("pending", "sending", "sent", "dead", "skipped"), 0)
        counts.update({str(row["status"]): int(row["n"]) for row in rows})
        return counts

    async def backlog(self, now: datetime) -> OutboxBacklog:
        """One statement for a metrics scrape; each part reads only its state's partial index.

        Sent and skipped rows (which grow with every drop) are never counted.
        """
        row = await self._conn.fetchrow(
            """
            select
                (select count(*) from outbox where status = 'pending') as pending,
                (select count(*) from outbox where status = 'sending') as sending,
                (select count(*) from outbox where status = 'dead') as dead,
                (select extract(epoch from $1::timestamptz - min(created_at))::float8
                   from outbox where status = 'pending') as oldest_pending_age_s
            """,
            now,
        )
        assert row is not None
        return msgspec.convert(dict(row), OutboxBacklog)

    async def _finish(
        self,
        entry_id: int,
        worker_id: str,
        status: OutboxStatus,
        now: datetime,
        error: str | None,
        *,
        sent: bool = False,
    ) -> bool:
        # Guarded by the lease: a worker that lost its lease (it stalled past leased_until and another
        # worker took the row) must not overwrite the newer outcome.
        result = await self._conn.execute(
            """
            update outbox
               set status = $3, last_error = coalesce($4, last_error), updated_at = $5,
                   sent_at = case when $6 then $5 else sent_at end,
                   leased_by = null, leased_until = null
             where id = $1 and status = 'sending' and leased_by = $2
            """,
            entry_id,
            worker_id,
            status,
            None if error is None else _truncate(error),
            now,
            sent,
        )
        return result == "UPDATE 1"


def _truncate(error: str) -> str:
    return error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"
