"""One hourly round over a million synthetic rows: each job's time, and that it touched only what it should.

The rows are generated in SQL (generate_series) in a database of this test's own, spread so that every
job has work to do and rows it must keep. The round is judged at a fixed moment (the middle of the
current month) so the months and days that fall past each retention are the same whatever today is.
The times are printed (`-s` shows them) and quoted in docs/scaling.md.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from courier_api.use_cases.maintenance import HousekeepingPolicy, period_start, run_hourly
from infra.database import Database
from infra.devstack import DevStack
from infra.storage import ObjectStore
from tests.integration.test_housekeeping import new_database

pytestmark = pytest.mark.slow

POLICY = HousekeepingPolicy(
    evidence_retention=timedelta(days=180),
    audit_retention=timedelta(days=3 * 365),
    idempotency_replay=timedelta(hours=48),
    outbox_retention=timedelta(days=30),
    upload_grace=timedelta(hours=1),
    batch_rows=5_000,
)

# (statement, rows it writes); $1 is the moment the round is judged at.
SEED: list[tuple[str, int]] = [
    # Past partitions the migration did not create (a fresh database has no old rows). Idempotency keys
    # get daily partitions for the last days instead of the migration's catch-all `legacy` one.
    (
        """
        select housekeeping_create_partition(t.name, date_trunc('month', $1::timestamptz at time zone 'UTC') at time zone 'UTC'
                                                     - make_interval(months => m), interval '1 month')
          from (values ('outbox', 3), ('evidence_audit', 40)) as t (name, back), generate_series(1, t.back) as m
        """,
        0,
    ),
    ("drop table idempotency_keys_legacy", 0),
    (
        """
        select housekeeping_create_partition('idempotency_keys',
                   date_trunc('day', $1::timestamptz at time zone 'UTC') at time zone 'UTC' - make_interval(days => d),
                   interval '1 day')
          from generate_series(-1, 5) as d
        """,
        0,
    ),
    # outbox, 300,000: three months ago 100,000 delivered or skipped and 30 dead (dropped with their month);
    # two months ago 50,000 delivered and 10 pending (kept: still being delivered); last month 100,000 and
    # this month 50,000 (inside the 30 days).
    (
        """
        insert into outbox (event_id, event_type, channel, dedupe_key, payload, status, attempts,
                            next_attempt_at, created_at, updated_at, sent_at)
        select gen_random_uuid(), 'door_drop.completed', 'webhook', 'seed:' || i, '{}'::jsonb,
               case when i <= 30 and m = 3 then 'dead' when i <= 10 and m = 2 then 'pending'
                    when i % 10 = 0 then 'skipped' else 'sent' end,
               1, created, created, created, created
          from (values (3, 100000), (2, 50000), (1, 100000), (0, 50000)) as plan (m, n),
               generate_series(1, plan.n) as i,
               lateral (select date_trunc('month', $1::timestamptz at time zone 'UTC') at time zone 'UTC'
                               - make_interval(months => plan.m) + (i % 20) * interval '1 day'
                               + (i % 3600) * interval '1 second' as created) as t
         where m > 0 or created < $1
        """,
        300_000,
    ),
    # evidence_audit, 205,000: 5,000 a month for 41 months; those past 3 years go, whole months at a time.
    (
        """
        insert into evidence_audit (actor_role, actor_id, action, order_id, at)
        select 'support', 'agent-' || (i % 50), 'photo.viewed', 'order-' || i,
               date_trunc('month', $1::timestamptz at time zone 'UTC') at time zone 'UTC' - make_interval(months => m)
               + (i % 25) * interval '1 day'
          from generate_series(0, 40) as m, generate_series(1, 5000) as i
        """,
        205_000,
    ),
    # idempotency_keys, 200,000 over the last 5 days and today: days past the 48 h replay window go.
    (
        """
        insert into idempotency_keys (actor, key, request_hash, status_code, response, created_at)
        select 'courier:c' || (i % 500), 'key-' || d || '-' || i, 'h', 201, '{}'::jsonb,
               date_trunc('day', $1::timestamptz at time zone 'UTC') at time zone 'UTC' - make_interval(days => d)
               + (i % 43200) * interval '1 second'
          from generate_series(0, 5) as d, generate_series(1, 33334) as i
        """,
        200_004,
    ),
    # rate_limit_windows, 150,000: 100,000 of windows that started days ago, 50,000 of the last hour.
    (
        """
        insert into rate_limit_windows (bucket, subject, window_start, hits)
        select 'upload.courier', 'c' || i, $1::timestamptz - case when i <= 100000 then interval '3 days' else interval '10 minutes' end, 1
          from generate_series(1, 150000) as i
        """,
        150_000,
    ),
    # orders, a device, capture sessions (100,000) and their photo attempts (20,050).
    (
        """
        insert into orders (order_id, customer_id, city, label_code, snapshot, created_at)
        select 'order-' || i, 'cust-' || i, 'Moscow', 'L' || i, '{}'::jsonb, $1::timestamptz - interval '30 days'
          from generate_series(1, 10000) as i
        """,
        10_000,
    ),
    (
        """
        insert into courier_devices (device_id, courier_id, public_key, platform, attestation_level, enrolled_at)
        values ('00000000-0000-4000-8000-000000000001', 'courier-1', decode(repeat('ab', 32), 'hex'), 'android',
                'none', $1::timestamptz)
        """,
        1,
    ),
    # Sessions 1-60,000 expired days ago with no attempt (purged); 60,001-80,000 expired with an attempt
    # each (kept with their evidence); 80,001-100,000 still open (kept).
    (
        """
        insert into capture_sessions (session_id, order_id, courier_id, device_id, nonce, opened_at, expires_at)
        select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'order-' || (1 + i % 10000),
               'courier-1', '00000000-0000-4000-8000-000000000001', 'nonce-' || i,
               $1::timestamptz - interval '3 days', case when i <= 80000 then $1::timestamptz - interval '2 days' else $1::timestamptz + interval '6 hours' end
          from generate_series(1, 100000) as i
        """,
        100_000,
    ),
    # Attempts: 20,000 ten days old (inside evidence retention) and 50 of 200 days ago (past it).
    (
        """
        insert into photo_attempts (photo_id, session_id, order_id, courier_id, device_id, accepted, checks,
                                    sha256, size_bytes, width, height, perceptual_hash, hash_band_0, hash_band_1,
                                    hash_band_2, hash_band_3, detail_hash, original_key, customer_copy_key, created_at,
                                    device_attestation)
        select ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
               ('00000000-0000-4000-8000-' || lpad(to_hex(60000 + least(i, 20000)), 12, '0'))::uuid,
               'order-' || (1 + (60000 + least(i, 20000)) % 10000), 'courier-1',
               '00000000-0000-4000-8000-000000000001', false, '[]'::jsonb, md5(i::text), 1000, 1, 1, i,
               0, 0, 0, 0, '\\x00'::bytea, 'evidence/seed/' || i || '.jpg', null,
               $1::timestamptz - case when i > 20000 then interval '200 days' else interval '10 days' end,
               'none'
          from generate_series(1, 20050) as i
        """,
        20_050,
    ),
    # object_intents, 21,100: 20,000 for objects the attempts reference (settled), 100 of uploads that
    # crashed before their commit (orphans), 1,000 younger than the grace period (uploads in flight).
    (
        """
        insert into object_intents (key, photo_id, created_at)
        select 'evidence/seed/' || i || '.jpg', ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
               $1::timestamptz - case when i <= 20150 then interval '1 hour' else interval '1 minute' end
          from generate_series(1, 21150) as i
         where i <= 20000 or i > 20050
        """,
        21_100,
    ),
    # web_sessions, 10,000: half ended, half live.
    (
        """
        insert into web_sessions (id_hash, role, subject, created_at, expires_at)
        select sha256(i::text::bytea), 'customer', 'cust-' || i, $1::timestamptz - interval '2 days',
               $1::timestamptz + case when i <= 5000 then - interval '1 day' else interval '1 day' end
          from generate_series(1, 10000) as i
        """,
        10_000,
    ),
]


async def test_one_hourly_round_over_a_million_rows(dev_stack: DevStack, store: ObjectStore) -> None:
    dsn = await new_database(dev_stack)
    now = period_start(datetime.now(UTC), "month") + timedelta(days=14, hours=12)
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for statement, _ in SEED:
            await conn.execute(statement, now) if "$1" in statement else await conn.execute(statement)
        await conn.execute("analyze")
        seeded_s = time.perf_counter() - started
        seeded = sum(rows for _, rows in SEED)
        assert seeded >= 1_000_000
        before = await _counts(conn)
    finally:
        await conn.close()

    db = await Database.connect(dsn, min_size=1, max_size=3)
    try:
        report = await run_hourly(db, store, POLICY, now=now)
        assert report is not None
        second = await run_hourly(db, store, POLICY, now=now)
        assert second is not None
    finally:
        await db.close()
    conn = await asyncpg.connect(dsn)
    try:
        after = await _counts(conn)
        outbox_left = {
            row["status"]: row["n"]
            for row in await conn.fetch("select status, count(*) as n from outbox group by 1")
        }
        deleted_flags = await conn.fetchval(
            "select count(*) from photo_attempts where deleted_at is not null"
        )
        intents_left = await conn.fetchval("select count(*) from object_intents")
    finally:
        await conn.close()

    print(
        f"\nseeded {seeded:,} rows in {seeded_s:.1f} s; first round {report.seconds}; second {second.seconds}"
    )
    print(f"partitions dropped: {report.partitions.dropped}; waiting: {report.partitions.waiting}")
    print(
        f"purged: {report.purged}; retention: {report.retention}; reconcile orphans {report.reconcile.orphans_deleted}"
    )

    month = period_start(now, "month")
    day = period_start(now, "day")

    def month_name(table: str, back: int) -> str:
        start = month
        for _ in range(back):
            start = (start - timedelta(days=1)).replace(day=1)
        return f"{table}_p{start:%Y_%m}"

    # Outbox: the month past retention went (with its 30 dead letters); the one with pending rows waits.
    assert month_name("outbox", 3) in report.partitions.dropped
    assert report.partitions.dead_letters_dropped == 30
    assert report.partitions.waiting == [month_name("outbox", 2)]
    assert after["outbox"] == before["outbox"] - 100_000
    assert outbox_left["pending"] == 10
    assert "dead" not in outbox_left
    # Audit: only months wholly older than 3 years (the four oldest), none younger.
    audit_dropped = sorted(name for name in report.partitions.dropped if name.startswith("evidence_audit"))
    assert audit_dropped == sorted(month_name("evidence_audit", back) for back in (37, 38, 39, 40))
    assert after["evidence_audit"] == before["evidence_audit"] - 4 * 5_000
    # Idempotency keys: days that ended before the 48 h window (3, 4 and 5 days ago), not 2 days ago.
    keys_dropped = sorted(name for name in report.partitions.dropped if name.startswith("idempotency_keys"))
    assert keys_dropped == sorted(f"idempotency_keys_p{day - timedelta(days=d):%Y_%m_%d}" for d in (3, 4, 5))
    assert after["idempotency_keys"] == before["idempotency_keys"] - 3 * 33_334
    # Row purges, in batches: only what expired; sessions with attempts and open ones stay.
    assert report.purged.rate_limit_windows == 100_000
    assert after["rate_limit_windows"] == 50_000
    assert report.purged.capture_sessions == 60_000
    assert after["capture_sessions"] == 40_000
    assert report.purged.web_sessions == 5_000
    assert after["web_sessions"] == 5_000
    # Evidence retention: the 50 old attempts only; rows are kept, marked.
    assert report.retention.photos == 50
    assert deleted_flags == 50
    assert after["photo_attempts"] == before["photo_attempts"]
    # Reconcile: 20,100 intents past the grace period checked, 100 orphans; the 1,000 in flight stay.
    assert report.reconcile.intents_checked == 20_100
    assert report.reconcile.orphans_deleted == 100
    assert intents_left == 1_000
    # The second round finds nothing left to do.
    assert second.partitions.dropped == []
    assert second.purged.rate_limit_windows == second.purged.capture_sessions == 0
    assert second.reconcile.intents_checked == 0


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    tables = (
        "outbox",
        "evidence_audit",
        "idempotency_keys",
        "rate_limit_windows",
        "capture_sessions",
        "photo_attempts",
        "web_sessions",
    )
    return {table: int(await conn.fetchval(f"select count(*) from {table}")) for table in tables}
