"""Browser sessions of the web pages, looked up by the SHA-256 of the cookie's random id."""

from __future__ import annotations

from datetime import datetime

import msgspec

from infra.repositories.connection import Connection


class WebSessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    subject: str
    order_scope: str | None
    expires_at: datetime


class WebSessionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def create(
        self,
        *,
        id_hash: bytes,
        role: str,
        subject: str,
        order_scope: str | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self._conn.execute(
            """
            insert into web_sessions (id_hash, role, subject, order_scope, created_at, expires_at)
            values ($1, $2, $3, $4, $5, $6)
            """,
            id_hash,
            role,
            subject,
            order_scope,
            created_at,
            expires_at,
        )

    async def live(self, id_hash: bytes, now: datetime) -> WebSessionRecord | None:
        """The session if it exists, is not revoked and has not expired at `now`."""
        row = await self._conn.fetchrow(
            """
            select role, subject, order_scope, expires_at from web_sessions
            where id_hash = $1 and revoked_at is null and expires_at > $2
            """,
            id_hash,
            now,
        )
        return None if row is None else msgspec.convert(row, WebSessionRecord)

    async def revoke(self, id_hash: bytes, now: datetime) -> bool:
        """Revoke a live session; False when there was none (unknown, expired or already revoked)."""
        status = await self._conn.execute(
            "update web_sessions set revoked_at = $2 where id_hash = $1 and revoked_at is null", id_hash, now
        )
        return status.split()[-1] != "0"

    async def forget_ended_before(self, cutoff: datetime, *, limit: int = 5_000) -> int:
        """Delete up to `limit` sessions that expired before `cutoff` (revoked ones too: they expire like any other)."""
        status = await self._conn.execute(
            """
            delete from web_sessions where id_hash = any(array(
                select id_hash from web_sessions where expires_at < $1 limit $2))
            """,
            cutoff,
            limit,
        )
        return int(status.split()[-1])
