"""PostgreSQL pool and the transaction a request owns.

Driver errors are translated here; no asyncpg type leaves infra.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
import msgspec

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


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What the pool runs when a connection comes back, after asyncpg's own rollback of an open transaction.

    asyncpg's default here is `Connection.reset()`: one more round trip per request
    (`RESET ALL; CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all()`), which profiling showed
    costing as much CPU as the eligibility check's own query. Nothing we run leaves session state
    behind: no SET without LOCAL, no LISTEN, no WITH HOLD cursors, and the only advisory lock
    taken on a pooled connection is `pg_advisory_xact_lock`, released at commit or rollback
    (migrations lock on a connection of their own), except `Database.exclusive`'s session lock,
    which it unlocks before giving the connection back, or closes the connection. Keep it that way,
    or reset here.
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns travel as Python objects; msgspec converts them to structs in the repositories.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class PoolUsage(msgspec.Struct, frozen=True, kw_only=True):
    in_use: int
    idle: int
    max: int


class Database:
    """Owns the pool; hands out one transaction per request or job."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 2, max_size: int = 10) -> Database:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                reset=_keep_session,
                command_timeout=30,
            )
        except _UNAVAILABLE as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    def usage(self) -> PoolUsage:
        """Connections open and checked out now (three attribute reads: cheap enough for any scrape)."""
        size, idle = self._pool.get_size(), self._pool.get_idle_size()
        return PoolUsage(in_use=size - idle, idle=idle, max=self._pool.get_max_size())

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

    def read(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Reads without a transaction: each statement sees its own snapshot.

        Saves the BEGIN and COMMIT round trips of `transaction()`. For reads that need no
        snapshot shared between statements (one statement is one snapshot).
        """
        return self.autocommit()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[UnitOfWork]:
        """No transaction: each statement commits on its own as soon as it has run.

        For reads, and for single-statement writes that must not depend on what follows (a rate
        limit hit that counts even when the request is then refused).
        """
        try:
            async with self._pool.acquire() as conn:
                yield UnitOfWork(conn)
        except _UNAVAILABLE as exc:
            await self._expire_after_outage()
            raise DatabaseUnavailable(str(exc)) from exc
        except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError) as exc:
            raise UnstorableText(str(exc)) from exc

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[bool]:
        """Try to hold a cluster-wide advisory lock for the block; yields False if another session holds it.

        The lock lives on a pooled connection set aside for the block (the block's own transactions use
        others), so it is held across many short transactions and released if this process dies.
        """
        try:
            conn = await self._pool.acquire()
        except _UNAVAILABLE as exc:
            await self._expire_after_outage()
            raise DatabaseUnavailable(str(exc)) from exc
        try:
            try:
                held = bool(await conn.fetchval("select pg_try_advisory_lock($1)", key))
            except _UNAVAILABLE as exc:
                await self._expire_after_outage()
                raise DatabaseUnavailable(str(exc)) from exc
            try:
                yield held
            finally:
                if held:
                    try:
                        await conn.execute("select pg_advisory_unlock($1)", key)
                    except _PING_FAILURES:
                        # Never give the pool a connection that may still hold the lock: closing the
                        # session releases it (the pool opens a new connection in its place).
                        conn.terminate()
        finally:
            await self._pool.release(conn)

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
