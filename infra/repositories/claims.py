"""Claims, the evidence audit log, and the numbers behind rollout health."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from infra.errors import ConflictingWrite
from infra.repositories.connection import Connection


class ClaimRecord(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: uuid.UUID
    order_id: str
    customer_id: str
    kind: str
    comment: str
    status: str
    decision: str | None
    amount_kopecks: int | None
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    actor_role: str
    actor_id: str
    action: str
    order_id: str | None
    photo_id: uuid.UUID | None
    request_id: str | None
    device_id: uuid.UUID | None
    at: datetime


class WeeklyCityIncidents(msgspec.Struct, frozen=True, kw_only=True):
    city: str
    week_start: datetime
    door_drops: int
    rejected_attempts: int
    claims: int
    compensations: int
    compensated_kopecks: int
    # Attempts that carry a failed advisory check (door.unfamiliar): accepted, but worth a look.
    advisories: int


class CourierAdvisories(msgspec.Struct, frozen=True, kw_only=True):
    courier_id: str
    city: str
    attempts: int
    advisories: int


# An attempt with a failed advisory check; advisory checks exist since migration 0040.
_HAS_ADVISORY = """exists (select 1 from jsonb_array_elements(a.checks) as c
                where c ->> 'severity' = 'advisory' and not (c ->> 'passed')::boolean)"""

_CLAIM_COLUMNS = (
    "claim_id, order_id, customer_id, kind, comment, status, decision, amount_kopecks, reason,"
    " decided_by, decided_at, created_at"
)
_AUDIT_COLUMNS = "id, actor_role, actor_id, action, order_id, photo_id, request_id, device_id, at"


class ClaimRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def open(
        self, *, order_id: str, customer_id: str, kind: str, comment: str, at: datetime
    ) -> ClaimRecord:
        try:
            row = await self._conn.fetchrow(
                f"""
                insert into claims (claim_id, order_id, customer_id, kind, comment, created_at)
                values ($1, $2, $3, $4, $5, $6) returning {_CLAIM_COLUMNS}
                """,  # noqa: S608
                uuid.uuid4(),
                order_id,
                customer_id,
                kind,
                comment,
                at,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ConflictingWrite("an open claim exists for this order") from exc
        assert row is not None
        return msgspec.convert(row, ClaimRecord)

    async def get(self, claim_id: uuid.UUID, *, for_update: bool = False) -> ClaimRecord | None:
        lock = " for update" if for_update else ""
        row = await self._conn.fetchrow(
            f"select {_CLAIM_COLUMNS} from claims where claim_id = $1{lock}",  # noqa: S608
            claim_id,
        )
        return None if row is None else msgspec.convert(row, ClaimRecord)

    async def for_order(self, order_id: str) -> list[ClaimRecord]:
        rows = await self._conn.fetch(
            f"select {_CLAIM_COLUMNS} from claims where order_id = $1 order by created_at",  # noqa: S608
            order_id,
        )
        return [msgspec.convert(row, ClaimRecord) for row in rows]

    async def has_decided(self, order_id: str) -> bool:
        return bool(
            await self._conn.fetchval(
                "select exists (select 1 from claims where order_id = $1 and status = 'decided')", order_id
            )
        )

    async def compensated_kopecks(self, order_id: str) -> int:
        """What the order's claims have been paid in total."""
        value = await self._conn.fetchval(
            "select coalesce(sum(amount_kopecks), 0) from claims where order_id = $1 and decision = 'compensate'",
            order_id,
        )
        return int(value)

    async def decide(
        self,
        claim_id: uuid.UUID,
        *,
        decision: str,
        amount_kopecks: int | None,
        reason: str,
        decided_by: str,
        at: datetime,
    ) -> ClaimRecord | None:
        """Record the decision once; None when the claim was already decided."""
        row = await self._conn.fetchrow(
            f"""
            update claims set status = 'decided', decision = $2, amount_kopecks = $3, reason = $4,
                   decided_by = $5, decided_at = $6
             where claim_id = $1 and status = 'open'
            returning {_CLAIM_COLUMNS}
            """,  # noqa: S608
            claim_id,
            decision,
            amount_kopecks,
            reason,
            decided_by,
            at,
        )
        return None if row is None else msgspec.convert(row, ClaimRecord)

    async def weekly_incidents(self, start: datetime, end: datetime) -> list[WeeklyCityIncidents]:
        """Per city and ISO week (Monday, UTC): drops, rejected attempts, claims, compensations."""
        rows = await self._conn.fetch(
            f"""
            with drops as (
                select o.city, date_trunc('week', o.delivered_at at time zone 'UTC') as week, count(*) as n
                  from orders o
                 where o.status = 'left_at_door' and o.delivered_at >= $1 and o.delivered_at < $2
                 group by 1, 2
            ), rejected as (
                select o.city, date_trunc('week', a.created_at at time zone 'UTC') as week, count(*) as n
                  from photo_attempts a join orders o using (order_id)
                 where not a.accepted and a.created_at >= $1 and a.created_at < $2
                 group by 1, 2
            ), claimed as (
                select o.city, date_trunc('week', c.created_at at time zone 'UTC') as week, count(*) as n
                  from claims c join orders o using (order_id)
                 where c.created_at >= $1 and c.created_at < $2
                 group by 1, 2
            ), compensated as (
                select o.city, date_trunc('week', c.decided_at at time zone 'UTC') as week,
                       count(*) as n, coalesce(sum(c.amount_kopecks), 0)::bigint as amount
                  from claims c join orders o using (order_id)
                 where c.decision = 'compensate' and c.decided_at >= $1 and c.decided_at < $2
                 group by 1, 2
            ), advised as (
                select o.city, date_trunc('week', a.created_at at time zone 'UTC') as week, count(*) as n
                  from photo_attempts a join orders o using (order_id)
                 where a.created_at >= $1 and a.created_at < $2 and {_HAS_ADVISORY}
                 group by 1, 2
            ), keys as (
                select city, week from drops union select city, week from rejected
                union select city, week from claimed union select city, week from compensated
                union select city, week from advised
            )
            select k.city, (k.week at time zone 'UTC') as week_start,
                   coalesce(d.n, 0) as door_drops, coalesce(r.n, 0) as rejected_attempts,
                   coalesce(c.n, 0) as claims, coalesce(p.n, 0) as compensations,
                   coalesce(p.amount, 0) as compensated_kopecks, coalesce(v.n, 0) as advisories
              from keys k
              left join drops d on d.city = k.city and d.week = k.week
              left join rejected r on r.city = k.city and r.week = k.week
              left join claimed c on c.city = k.city and c.week = k.week
              left join compensated p on p.city = k.city and p.week = k.week
              left join advised v on v.city = k.city and v.week = k.week
             order by k.city, k.week
            """,  # noqa: S608 (a constant of this module, no input)
            start,
            end,
        )
        return [msgspec.convert(row, WeeklyCityIncidents) for row in rows]

    async def advisories_per_courier(
        self, start: datetime, end: datetime, *, limit: int
    ) -> list[CourierAdvisories]:
        """Couriers with advisory findings on their attempts in [start, end), most first, with their attempts."""
        rows = await self._conn.fetch(
            f"""
            select a.courier_id, o.city, count(*) as attempts,
                   count(*) filter (where {_HAS_ADVISORY}) as advisories
              from photo_attempts a join orders o using (order_id)
             where a.created_at >= $1 and a.created_at < $2
             group by 1, 2
            having count(*) filter (where {_HAS_ADVISORY}) > 0
             order by advisories desc, a.courier_id, o.city limit $3
            """,  # noqa: S608 (a constant of this module, no input)
            start,
            end,
            limit,
        )
        return [msgspec.convert(row, CourierAdvisories) for row in rows]


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def record(
        self,
        *,
        actor_role: str,
        actor_id: str,
        action: str,
        order_id: str | None,
        photo_id: uuid.UUID | None = None,
        request_id: str | None = None,
        device_id: uuid.UUID | None = None,
    ) -> None:
        await self._conn.execute(
            """
            insert into evidence_audit (actor_role, actor_id, action, order_id, photo_id, request_id, device_id)
            values ($1, $2, $3, $4, $5, $6, $7)
            """,
            actor_role,
            actor_id,
            action,
            order_id,
            photo_id,
            request_id,
            device_id,
        )

    async def search(
        self, *, order_id: str | None, actor_id: str | None, before_id: int | None, limit: int
    ) -> list[AuditRecord]:
        rows = await self._conn.fetch(
            f"""
            select {_AUDIT_COLUMNS} from evidence_audit
             where ($1::text is null or order_id = $1) and ($2::text is null or actor_id = $2)
               and ($3::bigint is null or id < $3)
             order by id desc limit $4
            """,  # noqa: S608
            order_id,
            actor_id,
            before_id,
            limit,
        )
        return [msgspec.convert(row, AuditRecord) for row in rows]
