"""Fixed-window counters in PostgreSQL, so every API process sees the same counts."""

from __future__ import annotations

from datetime import datetime

from infra.repositories.connection import Connection


class RateLimitRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def hit(self, *, bucket: str, subject: str, window_start: datetime) -> int:
        """Count one hit in this window; returns the hits so far, this one included."""
        value = await self._conn.fetchval(
            """
            insert into rate_limit_windows (bucket, subject, window_start, hits) values ($1, $2, $3, 1)
            on conflict (bucket, subject, window_start) do update set hits = rate_limit_windows.hits + 1
            returning hits
            """,
            bucket,
            subject,
            window_start,
        )
        return int(value)
