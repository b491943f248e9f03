"""Hourly housekeeping on a real PostgreSQL: once per cluster, partitions ahead, the migration keeps rows.

Each test that drops or purges runs on a database of its own: a job judged "a year from now" on the
shared test database would drop the partitions other tests write into.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from courier_api.use_cases.maintenance import (
    HOURLY_LOCK_KEY,
    HousekeepingPolicy,
    next_period,
    period_start,
    run_hourly,
)
from infra.database import Database
from infra.devstack import DevStack
from infra.devstack.stack import create_database
from infra.errors import ConfigError, ConflictingWrite
from infra.migrate import _apply_pending, apply_migrations, bundled_migrations
from infra.repositories import UnitOfWork
from infra.settings import load_settings
from infra.storage import ObjectStore

POLICY = HousekeepingPolicy(
    evidence_retention=timedelta(days=180),
    audit_retention=timedelta(days=3 * 365),
    idempotency_replay=timedelta(hours=48),
    outbox_retention=timedelta(days=30),
    upload_grace=timedelta(hours=1),
    batch_rows=1_000,
)
BASE_ENV = {"DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "S3_BUCKET": "b", "JWT_SECRET": "s" * 40}


async def new_database(dev_stack: DevStack, *, migrate: bool = True) -> str:
    name = f"housekeeping_{secrets.token_hex(4)}"
    await create_database(dev_stack.postgres.dsn, name)
    dsn = dev_stack.postgres.dsn_for(name)
    if migrate:
        await apply_migrations(dsn)
    return dsn


@pytest.fixture
async def own_db(dev_stack: DevStack) -> AsyncIterator[Database]:
    database = await Database.connect(await new_database(dev_stack), min_size=1, max_size=3)
    try:
        yield database
    finally:
        await database.close()


async def partition_names(dsn: str, table: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = $1::regclass",
            table,
        )
    finally:
        await conn.close()
    return {row["relname"] for row in rows}


async def test_a_second_worker_skips_the_round_while_another_runs_it(
    dev_stack: DevStack, store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    dsn = await new_database(dev_stack)
    first = await Database.connect(dsn, min_size=1, max_size=2)
    second = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        now = datetime.now(UTC)
        async with first.exclusive(HOURLY_LOCK_KEY) as held:
            assert held
            with caplog.at_level(logging.INFO, logger="courier_api.maintenance"):
                skipped = await run_hourly(second, store, POLICY, now=now)
        assert skipped is None
        assert "another worker holds the hourly lock" in caplog.text
        # Released with the block: the next round runs, on either worker.
        ran = await run_hourly(second, store, POLICY, now=now)
        assert ran is not None
        assert set(ran.seconds) == {"partitions", "drop", "purge", "retention", "reconcile"}
        # Two rounds racing: exactly one runs.
        rounds = await asyncio.gather(
            run_hourly(first, store, POLICY, now=now), run_hourly(second, store, POLICY, now=now)
        )
        assert sum(report is not None for report in rounds) >= 1
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("select count(*) from pg_locks where locktype = 'advisory'") == 0
        finally:
            await conn.close()
    finally:
        await first.close()
        await second.close()


async def test_partitions_are_created_ahead_this_month_and_the_next_two(
    own_db: Database, store: ObjectStore, dev_stack: DevStack
) -> None:
    # Judged 100 days from now: none of those months exist yet; the round creates them.
    later = datetime.now(UTC) + timedelta(days=100)
    report = await run_hourly(own_db, store, POLICY, now=later)
    assert report is not None
    month = period_start(later, "month")
    months = [month, next_period(month, "month"), next_period(next_period(month, "month"), "month")]
    day = period_start(later, "day")
    days = [day + timedelta(days=n) for n in range(8)]
    dsn = own_db_dsn(own_db)
    for table in ("outbox", "evidence_audit"):
        assert {f"{table}_p{m:%Y_%m}" for m in months} <= await partition_names(dsn, table)
    assert {f"idempotency_keys_p{d:%Y_%m_%d}" for d in days} <= await partition_names(dsn, "idempotency_keys")
    assert f"outbox_p{months[2]:%Y_%m}" in report.partitions.created
    again = await run_hourly(own_db, store, POLICY, now=later)
    assert again is not None
    assert again.partitions.created == []


def own_db_dsn(database: Database) -> str:
    # The pool's connect arguments: the test reads the catalog on a connection of its own.
    args = database._pool._connect_args  # type: ignore[attr-defined]
    return str(args[0])


async def test_the_migration_keeps_existing_rows_and_their_uniqueness(dev_stack: DevStack) -> None:
    dsn = await new_database(dev_stack, migrate=False)
    conn = await asyncpg.connect(dsn)
    try:
        await _apply_pending(conn, [m for m in bundled_migrations() if m.version < 14])
        event = uuid.uuid4()
        await conn.execute(
            """
            insert into outbox (event_id, event_type, channel, dedupe_key, payload, status, created_at)
            select $1::uuid, 'door_drop.completed', 'webhook', $1::uuid::text || ':webhook', '{}'::jsonb, 'sent', now() - interval '70 days'
            union all
            select gen_random_uuid(), 'door_drop.completed', 'email', i::text, '{}'::jsonb, 'pending', now() - (i || ' days')::interval
              from generate_series(1, 99) as i
            """,
            event,
        )
        await conn.execute(
            """
            insert into evidence_audit (actor_role, actor_id, action, at)
            select 'support', 'agent-1', 'photo.viewed', now() - (i || ' days')::interval from generate_series(1, 400) as i;
            insert into idempotency_keys (actor, key, request_hash, status_code, response, created_at)
            select 'courier:c1', 'key-' || i, 'h', 201, '{}', now() - (i || ' hours')::interval
              from generate_series(1, 100) as i;
            """,
        )
        before = {
            table: await conn.fetchval(f"select count(*) from {table}")
            for table in ("outbox", "evidence_audit", "idempotency_keys")
        }
        next_id = await conn.fetchval("select max(id) from outbox")
        await _apply_pending(conn, bundled_migrations())
        for table, count in before.items():
            assert await conn.fetchval(f"select count(*) from {table}") == count
        assert await conn.fetchval("select count(*) from outbox_p" + f"{datetime.now(UTC):%Y_%m}") >= 1
    finally:
        await conn.close()

    db = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        async with db.transaction() as uow:
            # The 70-day-old row still dedupes a replay of its event, across partitions.
            await uow.outbox.enqueue(
                event_type="door_drop.completed", payload={}, channels=["webhook"], event_id=event
            )
            [row] = await uow.outbox.for_events([event])
            assert row.status == "sent"
            # The sequence carried over: new ids continue after the old ones.
            fresh = await uow.outbox.enqueue(event_type="door_drop.completed", payload={}, channels=["email"])
            [new_row] = await uow.outbox.for_events([fresh])
            assert new_row.id > next_id
            assert await uow.idempotency.find("courier:c1", "key-7") is not None
    finally:
        await db.close()


async def race_with_an_open_twin(
    db: Database, dsn: str, write: Callable[[UnitOfWork], Awaitable[None]]
) -> tuple[BaseException | None, bool]:
    """Run `write` in a transaction left open, start its twin, wait until the twin is queued on a lock
    (for a bounded time), then commit the first. Returns what the twin raised (None if it did not) and
    whether it had queued."""
    first_wrote = asyncio.Event()
    twin_waits = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as uow:
            await write(uow)
            first_wrote.set()
            await twin_waits.wait()

    async def twin() -> BaseException | None:
        await first_wrote.wait()
        try:
            async with db.transaction() as uow:
                await write(uow)
        except Exception as exc:
            return exc
        return None

    holder = asyncio.create_task(first())
    racer = asyncio.create_task(twin())
    conn = await asyncpg.connect(dsn)
    try:
        # A condition, not a delay: the twin's backend is waiting on the advisory lock the first holds.
        queued = 0
        for _ in range(400):
            queued = await conn.fetchval(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted"
            )
            if queued:
                break
            await asyncio.sleep(0.005)
    finally:
        await conn.close()
        twin_waits.set()  # commit the first whatever happened: a test failure must not leave it open
        await holder
    return await racer, bool(queued)


async def test_a_replayed_enqueue_racing_its_first_writes_one_row_per_channel(own_db: Database) -> None:
    event = uuid.uuid4()

    async def enqueue(uow: UnitOfWork) -> None:
        await uow.outbox.enqueue(event_type="claim.decided", payload={}, event_id=event)

    raised, queued = await race_with_an_open_twin(own_db, own_db_dsn(own_db), enqueue)
    assert raised is None
    async with own_db.read() as uow:
        rows = await uow.outbox.for_events([event])
    assert sorted(row.channel for row in rows) == ["email", "webhook"]
    assert queued  # the twin did overlap the first, so the lock (not luck) kept the rows unique


async def test_twins_of_one_idempotency_key_store_one_reply(own_db: Database) -> None:
    calls = iter(("hash-first", "hash-twin"))

    async def remember(uow: UnitOfWork) -> None:
        await uow.idempotency.remember(
            actor="courier:racer", key="same-key", request_hash=next(calls), status_code=201, response={}
        )

    refused, queued = await race_with_an_open_twin(own_db, own_db_dsn(own_db), remember)
    assert isinstance(refused, ConflictingWrite)
    async with own_db.read() as uow:
        stored = await uow.idempotency.find("courier:racer", "same-key")
    assert stored is not None
    assert stored.request_hash == "hash-first"
    assert queued


def test_retention_settings_fail_fast_naming_the_variable() -> None:
    settings = load_settings(BASE_ENV)
    assert (
        settings.audit_retention_days,
        settings.idempotency_replay_hours,
        settings.outbox_retention_days,
    ) == (
        1095,
        48,
        30,
    )
    for env, variable in (
        ({"AUDIT_RETENTION_DAYS": "90"}, "AUDIT_RETENTION_DAYS"),  # shorter than the evidence it audits
        ({"IDEMPOTENCY_REPLAY_HOURS": "6"}, "IDEMPOTENCY_REPLAY_HOURS"),  # shorter than a session + grace
        ({"OUTBOX_RETENTION_DAYS": "0"}, "OUTBOX_RETENTION_DAYS"),
        ({"HOUSEKEEPING_BATCH_ROWS": "1000000"}, "HOUSEKEEPING_BATCH_ROWS"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_settings(BASE_ENV | env)
        assert caught.value.variable == variable
