"""PostgreSQL pool and the transaction a request owns.

Driver errors are translated here; no asyncpg type leaves infra.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from infra.errors import DatabaseUnavailable, UnstorableText
from infra.repositories import UnitOfWork

# Errors that mean "the database is not there right now", as opposed to a bug in our SQL.
_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    ConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.ConnectionFailureError,
    TimeoutError,
)
_PING_FAILURES: tuple[type[Exception], ...] = (*_UNAVAILABLE, asyncpg.PostgresError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns travel as Python objects; msgspec converts them to structs in the repositories.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    """Owns the pool; hands out one transaction per request or job."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 2, max_size: int = 10) -> Database:
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30
            )
        except _UNAVAILABLE as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """One transaction: committed when the block ends normally, rolled back on any exception."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                yield UnitOfWork(conn)
        except _UNAVAILABLE as exc:
            await self._expire_after_outage()
            raise DatabaseUnavailable(str(exc)) from exc
        except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError) as exc:
            # Valid JSON and valid UTF-8, but text columns and jsonb cannot hold U+0000.
            raise UnstorableText(str(exc)) from exc

    async def ping(self) -> bool:
        try:
            async with self._pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("select 1", timeout=2) == 1)
        except _PING_FAILURES:
            await self._expire_after_outage()
            return False

    async def _expire_after_outage(self) -> None:
        # One broken connection means the server restarted or the network dropped: the pool's
        # other idle connections are just as dead. Expire them all so the next acquire reconnects.
        await self._pool.expire_connections()
