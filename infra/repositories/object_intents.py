"""S3 keys an upload is about to write, so reconcile checks those instead of listing the bucket.

An intent is recorded (and committed) before its object is put; the insert of the attempt that
references the key deletes it in the same transaction (AttemptRepository.add). An intent that is
still here after the grace period belongs to an upload that crashed between put and commit, or
whose object the attempt does not reference (a customer copy of a photo refused at commit).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from infra.repositories.connection import Connection


class DueIntent(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    created_at: datetime
    # Whether the attempt the key was meant for exists and references it: then the object is kept.
    referenced: bool


class ObjectIntentRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def record(self, photo_id: uuid.UUID, keys: list[str], now: datetime) -> None:
        await self._conn.execute(
            """
            insert into object_intents (key, photo_id, created_at)
            select key, $1, $3 from unnest($2::text[]) as key
            on conflict (key) do nothing
            """,
            photo_id,
            keys,
            now,
        )

    async def due(
        self, *, created_before: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[DueIntent]:
        """Intents older than `created_before`, oldest first, after the (created_at, key) cursor."""
        rows = await self._conn.fetch(
            """
            select i.key, i.created_at,
                   exists (select 1 from photo_attempts a
                            where a.photo_id = i.photo_id
                              and (a.original_key = i.key or a.customer_copy_key = i.key)) as referenced
              from object_intents i
             where i.created_at < $1
               and ($2::timestamptz is null or (i.created_at, i.key) > ($2, $3::text))
             order by i.created_at, i.key
             limit $4
            """,
            created_before,
            None if after is None else after[0],
            None if after is None else after[1],
            limit,
        )
        return [msgspec.convert(row, DueIntent) for row in rows]

    async def forget(self, keys: list[str]) -> None:
        await self._conn.execute("delete from object_intents where key = any($1::text[])", keys)
