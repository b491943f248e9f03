"""Scheduled jobs: partitions, purges, evidence retention, and reconciliation of S3 against PostgreSQL.

They run hourly in `courier-api worker`, once per cluster: each round takes a PostgreSQL advisory
lock on a connection of its own, and a worker that finds it taken skips the round (and logs so).
Every job is also idempotent, so a round cut short by a crash is finished by the next one.

Reconciliation exists because an upload writes S3 before it commits: a crash in between leaves
objects nothing refers to. The upload records each key as an intent before its put, and the attempt's
insert settles it; reconcile checks only intents older than a grace period (so an upload still in
flight is never touched), never the whole bucket. It also reports accepted photos whose stored
object is missing or no longer matches its recorded SHA-256 (which must never happen).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

import msgspec

from infra.database import Database
from infra.errors import DatabaseUnavailable, StorageUnavailable, TableBusy
from infra.repositories import UnitOfWork
from infra.repositories.housekeeping import Granularity, PartitionedTable
from infra.settings import Settings
from infra.storage import ObjectStore

_log = logging.getLogger("courier_api.maintenance")
_T = TypeVar("_T")

EVIDENCE_PREFIXES = ("evidence/", "customer-copies/")
# The advisory lock (one 64-bit key) that makes a round run once per cluster. Any constant that no
# other code uses as a one-key lock (migrations use 0x0D00D20F).
HOURLY_LOCK_KEY = 0x0D00_40B1
# Rate-limit counters are dropped this long after their window started: longer than any window (1 h).
RATE_LIMIT_KEEP = timedelta(days=1)
# A capture session is kept this long past expiry plus the upload grace: no attempt can arrive any more.
SESSION_MARGIN = timedelta(hours=1)


class PartitionPlan(msgspec.Struct, frozen=True, kw_only=True):
    table: PartitionedTable
    granularity: Granularity
    # Partitions created after the current one: inserts fail if the hourly job stops for this long.
    ahead: int


PARTITION_PLANS: tuple[PartitionPlan, ...] = (
    PartitionPlan(table="outbox", granularity="month", ahead=2),
    PartitionPlan(table="evidence_audit", granularity="month", ahead=2),
    # Daily: keys only matter for the replay window (48 h), so months would keep ~15x the rows.
    PartitionPlan(table="idempotency_keys", granularity="day", ahead=7),
)


class HousekeepingPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How long each kind of row is kept; built from Settings."""

    evidence_retention: timedelta
    audit_retention: timedelta
    idempotency_replay: timedelta
    outbox_retention: timedelta
    upload_grace: timedelta
    batch_rows: int = 5_000

    @classmethod
    def from_settings(cls, settings: Settings) -> HousekeepingPolicy:
        return cls(
            evidence_retention=timedelta(days=settings.evidence_retention_days),
            audit_retention=timedelta(days=settings.audit_retention_days),
            idempotency_replay=timedelta(hours=settings.idempotency_replay_hours),
            outbox_retention=timedelta(days=settings.outbox_retention_days),
            upload_grace=timedelta(seconds=settings.capture_upload_grace_s),
            batch_rows=settings.housekeeping_batch_rows,
        )


class RetentionReport(msgspec.Struct, frozen=True, kw_only=True):
    photos: int
    objects_deleted: int


class ReconcileReport(msgspec.Struct, frozen=True, kw_only=True):
    intents_checked: int
    orphans: list[str]
    orphans_deleted: int
    accepted_checked: int
    missing_or_altered: list[str]


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    objects_seen: int
    orphans: list[str]
    orphans_deleted: int


class PartitionReport(msgspec.Struct, frozen=True, kw_only=True):
    created: list[str]
    dropped: list[str]
    # Partitions past retention kept this round: an outbox month with a notification still pending or
    # sending, or a partition another session held locked past the lock timeout.
    waiting: list[str]
    dead_letters_dropped: int


class PurgeReport(msgspec.Struct, frozen=True, kw_only=True):
    rate_limit_windows: int
    capture_sessions: int
    web_sessions: int


class HourlyReport(msgspec.Struct, frozen=True, kw_only=True):
    partitions: PartitionReport
    purged: PurgeReport
    retention: RetentionReport
    reconcile: ReconcileReport
    # Wall-clock seconds per job, for the log and the scaling figures.
    seconds: dict[str, float]


def period_start(at: datetime, granularity: Granularity) -> datetime:
    """The UTC month or day that contains `at`."""
    at = at.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.replace(day=1) if granularity == "month" else day


def next_period(start: datetime, granularity: Granularity) -> datetime:
    if granularity == "day":
        return start + timedelta(days=1)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


async def ensure_partitions(db: Database, *, now: datetime) -> list[str]:
    """Create the current partition of each partitioned table and the `ahead` ones after it."""
    created: list[str] = []
    for plan in PARTITION_PLANS:
        async with db.transaction() as uow:
            existing = {p.name for p in await uow.housekeeping.partitions(plan.table)}
            start = period_start(now, plan.granularity)
            for _ in range(plan.ahead + 1):
                await uow.housekeeping.create_partition(plan.table, start, plan.granularity)
                start = next_period(start, plan.granularity)
            created += sorted({p.name for p in await uow.housekeeping.partitions(plan.table)} - existing)
    return created


async def drop_expired_partitions(
    db: Database, policy: HousekeepingPolicy, *, now: datetime
) -> PartitionReport:
    """Drop partitions whose every row is past its table's retention.

    An outbox month goes with its dead letters (support had OUTBOX_RETENTION_DAYS to retry them; they are
    counted in the report), but not while a row of it is pending or being sent: a dead letter that
    support put back in the queue is delivered first (within hours), then the month goes next round.
    """
    cutoffs: dict[PartitionedTable, datetime] = {
        "outbox": now - policy.outbox_retention,
        "evidence_audit": now - policy.audit_retention,
        "idempotency_keys": now - policy.idempotency_replay,
    }
    dropped: list[str] = []
    waiting: list[str] = []
    dead_letters = 0
    for table, cutoff in cutoffs.items():
        async with db.read() as uow:
            expired = [p for p in await uow.housekeeping.partitions(table) if p.upper_bound <= cutoff]
        for partition in expired:
            try:
                async with db.transaction() as uow:
                    # Locked first: a dead letter put back in the queue now waits for the drop, or is seen.
                    await uow.housekeeping.lock_partition(partition.name)
                    if table == "outbox":
                        counts = await uow.housekeeping.outbox_rows_by_status(partition.name)
                        if counts.get("pending") or counts.get("sending"):
                            waiting.append(partition.name)
                            continue
                        dead = counts.get("dead", 0)
                    else:
                        dead = 0
                    await uow.housekeeping.drop_partition(partition.name)
            except TableBusy as busy:
                _log.warning("maintenance: %s", busy)
                waiting.append(partition.name)
                continue
            dead_letters += dead
            dropped.append(partition.name)
    return PartitionReport(created=[], dropped=dropped, waiting=waiting, dead_letters_dropped=dead_letters)


async def purge_expired_rows(db: Database, policy: HousekeepingPolicy, *, now: datetime) -> PurgeReport:
    """Delete rows nothing will read again, in batches of `policy.batch_rows`, one transaction each."""
    batch = policy.batch_rows
    windows = await _drain(
        db,
        lambda uow: uow.housekeeping.purge_rate_limit_windows(
            started_before=now - RATE_LIMIT_KEEP, limit=batch
        ),
        batch,
    )
    sessions = await _drain(
        db,
        lambda uow: uow.housekeeping.purge_unused_capture_sessions(
            expired_before=now - policy.upload_grace - SESSION_MARGIN, limit=batch
        ),
        batch,
    )
    web = await forget_ended_web_sessions(db, now=now, batch=batch)
    return PurgeReport(rate_limit_windows=windows, capture_sessions=sessions, web_sessions=web)


async def _drain(db: Database, delete_batch: Callable[[UnitOfWork], Awaitable[int]], batch: int) -> int:
    total = 0
    while True:
        async with db.transaction() as uow:
            deleted = await delete_batch(uow)
        total += deleted
        if deleted < batch:
            return total


async def apply_retention(
    db: Database, store: ObjectStore, *, now: datetime, retention: timedelta, batch: int = 500
) -> RetentionReport:
    """Delete evidence past retention, except for orders with an open claim (kept until decided)."""
    photos = deleted = 0
    while True:
        async with db.transaction() as uow:
            expired = await uow.attempts.expired_evidence(created_before=now - retention, limit=batch)
        if not expired:
            break
        keys = [key for a in expired for key in (a.original_key, a.customer_copy_key) if key]
        await store.delete_many(keys)
        deleted += len(keys)
        # Marked only after the objects are gone: a crash here re-deletes (idempotent), never leaks.
        async with db.transaction() as uow:
            await uow.attempts.mark_deleted([a.photo_id for a in expired], now)
        photos += len(expired)
    return RetentionReport(photos=photos, objects_deleted=deleted)


async def reconcile(
    db: Database,
    store: ObjectStore,
    *,
    now: datetime,
    grace: timedelta = timedelta(minutes=15),
    delete: bool = True,
    verify_since: timedelta = timedelta(days=1),
    batch: int = 1_000,
) -> ReconcileReport:
    """Delete objects whose upload never committed (from the intents, not a bucket listing), and
    report accepted photos that lost their object."""
    checked = 0
    orphans: list[str] = []
    cursor: tuple[datetime, str] | None = None
    while True:
        async with db.read() as uow:
            due = await uow.object_intents.due(created_before=now - grace, after=cursor, limit=batch)
        if not due:
            break
        lost = [intent.key for intent in due if not intent.referenced]
        if delete:
            await store.delete_many(lost)
            # Forgotten only after the objects are gone: a crash here re-deletes (idempotent), never leaks.
            async with db.transaction() as uow:
                await uow.object_intents.forget([intent.key for intent in due])
        checked += len(due)
        orphans += lost
        cursor = (due[-1].created_at, due[-1].key)
        if len(due) < batch:
            break
    async with db.transaction() as uow:
        recent = await uow.attempts.accepted_since(now - verify_since, limit=10_000)
    broken: list[str] = []
    for attempt in recent:
        if await store.hash_stored(attempt.original_key) != attempt.sha256:
            broken.append(str(attempt.photo_id))
    return ReconcileReport(
        intents_checked=checked,
        orphans=orphans,
        orphans_deleted=len(orphans) if delete else 0,
        accepted_checked=len(recent),
        missing_or_altered=broken,
    )


async def full_sweep(
    db: Database,
    store: ObjectStore,
    *,
    now: datetime,
    grace: timedelta = timedelta(minutes=15),
    delete: bool = True,
) -> SweepReport:
    """List the whole bucket and delete objects no attempt refers to. Rare and explicit (`reconcile
    --full-sweep`): once after upgrading to intents, or after objects were written by hand."""
    objects = [obj for prefix in EVIDENCE_PREFIXES for obj in await store.list_objects(prefix)]
    old_enough = [obj.key for obj in objects if obj.last_modified < now - grace]
    referenced: set[str] = set()
    for start in range(0, len(old_enough), 1000):
        async with db.transaction() as uow:
            referenced |= await uow.attempts.keys_referenced(old_enough[start : start + 1000])
    orphans = [key for key in old_enough if key not in referenced]
    if delete:
        await store.delete_many(orphans)
    return SweepReport(
        objects_seen=len(objects), orphans=orphans, orphans_deleted=len(orphans) if delete else 0
    )


async def forget_ended_web_sessions(db: Database, *, now: datetime, batch: int = 5_000) -> int:
    """Delete browser sessions that have expired (revoked ones expire too); nothing can revive them."""
    return await _drain(db, lambda uow: uow.web_sessions.forget_ended_before(now, limit=batch), batch)


async def run_hourly(
    db: Database, store: ObjectStore, policy: HousekeepingPolicy, *, now: datetime
) -> HourlyReport | None:
    """One round of every scheduled job, unless another process holds the round's lock (None)."""
    async with db.exclusive(HOURLY_LOCK_KEY) as held:
        if not held:
            _log.info(
                "maintenance: another worker holds the hourly lock (%#x); skipping this round",
                HOURLY_LOCK_KEY,
            )
            return None
        seconds: dict[str, float] = {}

        async def timed(
            job: Literal["partitions", "drop", "purge", "retention", "reconcile"], work: Awaitable[_T]
        ) -> _T:
            started = time.perf_counter()
            try:
                return await work
            finally:
                seconds[job] = round(time.perf_counter() - started, 3)

        created = await timed("partitions", ensure_partitions(db, now=now))
        partitions = await timed("drop", drop_expired_partitions(db, policy, now=now))
        purged = await timed("purge", purge_expired_rows(db, policy, now=now))
        kept = await timed(
            "retention", apply_retention(db, store, now=now, retention=policy.evidence_retention)
        )
        checked = await timed("reconcile", reconcile(db, store, now=now))
    return HourlyReport(
        partitions=msgspec.structs.replace(partitions, created=created),
        purged=purged,
        retention=kept,
        reconcile=checked,
        seconds=seconds,
    )


async def run_maintenance_forever(
    db: Database,
    store: ObjectStore,
    *,
    policy: HousekeepingPolicy,
    stop: asyncio.Event,
    interval: timedelta = timedelta(hours=1),
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """The scheduled jobs every `interval` until `stop` is set; one worker of the cluster runs each round."""
    while not stop.is_set():
        try:
            report = await run_hourly(db, store, policy, now=clock())
            if report is not None:
                _log.info("maintenance: %s", msgspec.json.encode(_summary(report)).decode())
                if report.reconcile.missing_or_altered:
                    _log.error(
                        "evidence missing or altered for photos %s", report.reconcile.missing_or_altered
                    )
        except (DatabaseUnavailable, StorageUnavailable) as exc:
            _log.warning("maintenance skipped this round: %s", type(exc).__name__)
        except Exception:
            # A bug or an unexpected database answer in one step must not end housekeeping for good
            # (partitions would stop being created ahead): log it loudly, try again next round.
            _log.exception("maintenance round failed; the next round runs in %s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval.total_seconds())


def _summary(report: HourlyReport) -> dict[str, object]:
    # Counts, not lists: a log line stays one line whatever the backlog.
    return {
        "partitionsCreated": report.partitions.created,
        "partitionsDropped": report.partitions.dropped,
        "partitionsWaiting": report.partitions.waiting,
        "deadLettersDropped": report.partitions.dead_letters_dropped,
        "purged": msgspec.to_builtins(report.purged),
        "evidencePhotosDeleted": report.retention.photos,
        "orphanObjectsDeleted": report.reconcile.orphans_deleted,
        "acceptedReverified": report.reconcile.accepted_checked,
        "missingOrAltered": len(report.reconcile.missing_or_altered),
        "seconds": report.seconds,
    }
