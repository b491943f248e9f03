"""LISTEN for door-drop policy and bar changes on a connection of its own.

Each API process keeps the policy versions and the set of barred customers in memory and reloads
them when `generation` moves. A notification arrives a moment after the writer's commit (under a
millisecond on one network), so another process may answer from the previous state for that long;
the process that made the change invalidates its own memory right after its commit. While the
listening connection is down (`live` is False), callers read from the database on every request,
as if there were no memory at all: a lost notification can never leave a process stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import asyncpg

CHANNEL = "door_drop_changes"
_log = logging.getLogger("infra.change_feed")


class ChangeFeed:
    def __init__(self, dsn: str, *, retry_s: float = 2.0) -> None:
        self._dsn = dsn
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self._live = False
        self.generation = 0
        # Unix time of the last notification or (re)connection, for the metrics' lag gauge.
        self.last_event_at: float | None = None

    @property
    def live(self) -> bool:
        return self._live

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="change-feed")

    async def close(self) -> None:
        self._live = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                _log.warning(
                    "change feed: cannot connect (%s); deciding from the database meanwhile",
                    type(exc).__name__,
                )
                await asyncio.sleep(self._retry_s)
                continue
            try:
                await self._listen(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                _log.warning("change feed: lost (%s)", type(exc).__name__)
            finally:
                self._live = False
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
            await asyncio.sleep(self._retry_s)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(CHANNEL, self._changed)
        # Anything may have changed while we were not listening: start from a new generation.
        self.generation += 1
        self.last_event_at = time.time()
        self._live = True
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), timeout=15)
            except TimeoutError:
                # A silently dropped network would otherwise leave us "live" and deaf.
                await conn.fetchval("select 1", timeout=5)

    def _changed(self, *_: Any) -> None:
        self.generation += 1
        self.last_event_at = time.time()
