"""Door-drop policy versions and stored decisions (customer bars: `bars.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from infra.repositories.connection import Connection

# Serialises version numbering across processes (a transaction-scoped advisory lock).
_VERSION_LOCK_KEY = 0x0D00D201


class StoredPolicy(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    document: dict[str, Any]
    created_by: str
    created_at: datetime


class DecisionRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    order_id: str
    enabled: bool
    eligible: bool
    policy_version: int | None
    reasons: list[dict[str, Any]]
    decided_by: str
    decided_at: datetime


class PolicyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def latest_version(self) -> int:
        value = await self._conn.fetchval("select coalesce(max(version), 0) from door_drop_policies")
        return int(value)

    async def latest_version_and_bar(self, customer_id: str) -> tuple[int, bool]:
        """The latest policy version and whether the customer is barred, in one statement (one round trip)."""
        row = await self._conn.fetchrow(
            """
            select (select coalesce(max(version), 0) from door_drop_policies) as latest,
                   exists (select 1 from door_drop_bars
                            where customer_id = $1 and lifted_at is null) as barred
            """,
            customer_id,
        )
        assert row is not None
        return int(row[0]), bool(row[1])

    async def all(self) -> list[StoredPolicy]:
        rows = await self._conn.fetch(
            "select version, document, created_by, created_at from door_drop_policies order by version"
        )
        return [msgspec.convert(row, StoredPolicy) for row in rows]

    async def add(
        self, *, effective_from: datetime, document: dict[str, Any], created_by: str
    ) -> StoredPolicy:
        """Store a new version numbered after the latest; concurrent publishers queue on a lock."""
        await self._conn.execute("select pg_advisory_xact_lock($1)", _VERSION_LOCK_KEY)
        row = await self._conn.fetchrow(
            """
            insert into door_drop_policies (version, effective_from, document, created_by)
            values ((select coalesce(max(version), 0) + 1 from door_drop_policies), $1, $2, $3)
            returning version, document, created_by, created_at
            """,
            effective_from,
            document,
            created_by,
        )
        assert row is not None
        return msgspec.convert(row, StoredPolicy)


class DecisionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def record(
        self,
        *,
        order_id: str,
        enabled: bool,
        eligible: bool,
        policy_version: int | None,
        reasons: list[dict[str, Any]],
        decided_by: str,
        decided_at: datetime,
    ) -> DecisionRecord:
        row = await self._conn.fetchrow(
            """
            insert into door_drop_decisions
                (order_id, enabled, eligible, policy_version, reasons, decided_by, decided_at)
            values ($1, $2, $3, $4, $5, $6, $7)
            returning id, order_id, enabled, eligible, policy_version, reasons, decided_by, decided_at
            """,
            order_id,
            enabled,
            eligible,
            policy_version,
            reasons,
            decided_by,
            decided_at,
        )
        assert row is not None
        return msgspec.convert(row, DecisionRecord)

    async def latest(self, order_id: str) -> DecisionRecord | None:
        row = await self._conn.fetchrow(
            """
            select id, order_id, enabled, eligible, policy_version, reasons, decided_by, decided_at
              from door_drop_decisions where order_id = $1 order by decided_at desc, id desc limit 1
            """,
            order_id,
        )
        return None if row is None else msgspec.convert(row, DecisionRecord)
