"""Customer bars: support bars a customer from door drops after confirmed fraud; history is kept.

`PolicyRepository.latest_version_and_bar` also reads `door_drop_bars`, on purpose: the policy cache
learns the latest version and a customer's bar in one round trip.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from infra.repositories.connection import Connection


class BarRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    customer_id: str
    reason: str
    barred_by: str
    barred_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None


class BarRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def all_barred(self) -> frozenset[str]:
        """Every customer barred now (kept in memory by each process; bars are few)."""
        rows = await self._conn.fetch("select customer_id from door_drop_bars where lifted_at is null")
        return frozenset(row["customer_id"] for row in rows)

    async def barred_among(self, customer_ids: list[str]) -> set[str]:
        rows = await self._conn.fetch(
            """
            select customer_id from door_drop_bars
             where customer_id = any($1::text[]) and lifted_at is null
            """,
            customer_ids,
        )
        return {row["customer_id"] for row in rows}

    async def bar(self, *, customer_id: str, reason: str, barred_by: str) -> BarRecord | None:
        """Bar a customer; None when a bar is already active (the unique index refuses a second)."""
        row = await self._conn.fetchrow(
            """
            insert into door_drop_bars (customer_id, reason, barred_by) values ($1, $2, $3)
            on conflict (customer_id) where lifted_at is null do nothing
            returning id, customer_id, reason, barred_by, barred_at, lifted_by, lifted_at
            """,
            customer_id,
            reason,
            barred_by,
        )
        return None if row is None else msgspec.convert(row, BarRecord)

    async def lift(self, *, customer_id: str, lifted_by: str) -> BarRecord | None:
        row = await self._conn.fetchrow(
            """
            update door_drop_bars set lifted_by = $2, lifted_at = now()
             where customer_id = $1 and lifted_at is null
            returning id, customer_id, reason, barred_by, barred_at, lifted_by, lifted_at
            """,
            customer_id,
            lifted_by,
        )
        return None if row is None else msgspec.convert(row, BarRecord)

    async def history(self, customer_id: str) -> list[BarRecord]:
        rows = await self._conn.fetch(
            """
            select id, customer_id, reason, barred_by, barred_at, lifted_by, lifted_at
              from door_drop_bars where customer_id = $1 order by barred_at
            """,
            customer_id,
        )
        return [msgspec.convert(row, BarRecord) for row in rows]
