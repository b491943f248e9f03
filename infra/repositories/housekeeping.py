"""Housekeeping SQL: partitions created ahead and dropped by retention, purges in bounded batches.

Every delete here takes at most `limit` rows, so one statement never holds locks or writes WAL for
long, whatever the backlog after an outage; the caller loops, one short transaction per batch.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import asyncpg
import msgspec

from infra.errors import TableBusy
from infra.repositories.connection import Connection

PartitionedTable = Literal["outbox", "evidence_audit", "idempotency_keys"]
Granularity = Literal["month", "day"]
# Our partitions only, as the migration and `create_partition` name them; nothing else is ever dropped.
_PARTITION_NAME = re.compile(r"^(outbox|evidence_audit|idempotency_keys)_(p\d{4}_\d{2}(_\d{2})?|legacy)$")
# Dropping a partition takes an ACCESS EXCLUSIVE lock on the parent for an instant; waiting behind a
# long query would queue every insert behind us. Give up instead; the next hour tries again.
_DROP_LOCK_TIMEOUT = "2s"


class Partition(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    upper_bound: datetime


class HousekeepingRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def partitions(self, table: PartitionedTable) -> list[Partition]:
        """The table's partitions with their exclusive upper bound, oldest first."""
        rows = await self._conn.fetch(
            """
            select c.relname as name,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz
                       as upper_bound
              from pg_inherits i join pg_class c on c.oid = i.inhrelid
             where i.inhparent = $1::regclass
             order by 2
            """,
            table,
        )
        return [msgspec.convert(row, Partition) for row in rows]

    async def create_partition(
        self, table: PartitionedTable, start: datetime, granularity: Granularity
    ) -> None:
        """Create the partition starting at `start` (a UTC month or day boundary) unless it exists."""
        await self._conn.execute(
            "select housekeeping_create_partition($1, $2, $3::text::interval)",
            table,
            start,
            f"1 {granularity}",
        )

    async def lock_partition(self, name: str) -> None:
        """Lock one of our partitions against every other session until the transaction ends (before a drop)."""
        if not _PARTITION_NAME.match(name):
            raise ValueError(f"not a housekeeping partition: {name!r}")
        await self._conn.execute(f"set local lock_timeout = '{_DROP_LOCK_TIMEOUT}'")
        try:
            await self._conn.execute(f'lock table "{name}" in access exclusive mode')
        except asyncpg.LockNotAvailableError as exc:
            raise TableBusy(f"{name} is in use; dropped next round") from exc

    async def drop_partition(self, name: str) -> None:
        """Drop one of our partitions, rows and all (no row trigger fires: the audit log's way out)."""
        await self.lock_partition(name)
        try:
            # Also locks the parent for an instant (still under the lock timeout).
            await self._conn.execute(f'drop table "{name}"')
        except asyncpg.LockNotAvailableError as exc:
            raise TableBusy(f"{name}'s table is in use; dropped next round") from exc

    async def outbox_rows_by_status(self, partition: str) -> dict[str, int]:
        """How many rows of one outbox partition are in each state (states without rows omitted)."""
        if not _PARTITION_NAME.match(partition) or not partition.startswith("outbox_"):
            raise ValueError(f"not an outbox partition: {partition!r}")
        # Only the states a drop must look at: both counts come from small partial indexes.
        rows = await self._conn.fetch(
            f"""
            select status, count(*) as n from "{partition}"
             where status in ('pending', 'sending', 'dead') group by status
            """  # noqa: S608
        )
        return {str(row["status"]): int(row["n"]) for row in rows}

    async def purge_rate_limit_windows(self, *, started_before: datetime, limit: int) -> int:
        """Delete up to `limit` counters of windows that started before `started_before` (all closed)."""
        status = await self._conn.execute(
            """
            delete from rate_limit_windows where ctid = any(array(
                select ctid from rate_limit_windows where window_start < $1 limit $2))
            """,
            started_before,
            limit,
        )
        return _count(status)

    async def purge_unused_capture_sessions(self, *, expired_before: datetime, limit: int) -> int:
        """Delete up to `limit` sessions that expired before `expired_before` and have no photo attempt.

        A session with attempts is part of their evidence and stays with them.
        """
        status = await self._conn.execute(
            """
            delete from capture_sessions where session_id = any(array(
                select s.session_id from capture_sessions s
                 where s.expires_at < $1
                   and not exists (select 1 from photo_attempts a where a.session_id = s.session_id)
                 limit $2))
            """,
            expired_before,
            limit,
        )
        return _count(status)


def _count(status: str) -> int:
    # asyncpg returns the command tag, e.g. "DELETE 500".
    return int(status.rsplit(maxsplit=1)[-1])
