"""Scheduled jobs: evidence retention, and reconciliation of S3 against PostgreSQL.

Reconciliation exists because an upload writes S3 before it commits: a crash in between leaves
objects nothing refers to. They are deleted once older than a grace period, so an upload still
in flight is never touched. It also reports accepted photos whose stored object is missing or no
longer matches its recorded SHA-256 (which must never happen).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from infra.database import Database
from infra.errors import DatabaseUnavailable, StorageUnavailable
from infra.storage import ObjectStore

_log = logging.getLogger("courier_api.maintenance")

EVIDENCE_PREFIXES = ("evidence/", "customer-copies/")


class RetentionReport(msgspec.Struct, frozen=True, kw_only=True):
    photos: int
    objects_deleted: int


class ReconcileReport(msgspec.Struct, frozen=True, kw_only=True):
    objects_seen: int
    orphans: list[str]
    orphans_deleted: int
    accepted_checked: int
    missing_or_altered: list[str]


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
        for attempt in expired:
            for key in (attempt.original_key, attempt.customer_copy_key):
                if key:
                    await store.delete(key)
                    deleted += 1
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
) -> ReconcileReport:
    """Find objects no attempt refers to (and delete them), and accepted photos that lost their object."""
    objects = [obj for prefix in EVIDENCE_PREFIXES for obj in await store.list_objects(prefix)]
    old_enough = [obj.key for obj in objects if obj.last_modified < now - grace]
    referenced: set[str] = set()
    for start in range(0, len(old_enough), 1000):
        async with db.transaction() as uow:
            referenced |= await uow.attempts.keys_referenced(old_enough[start : start + 1000])
    orphans = [key for key in old_enough if key not in referenced]
    if delete:
        for key in orphans:
            await store.delete(key)
    async with db.transaction() as uow:
        recent = await uow.attempts.accepted_since(now - verify_since, limit=10_000)
    broken: list[str] = []
    for attempt in recent:
        if await store.hash_stored(attempt.original_key) != attempt.sha256:
            broken.append(str(attempt.photo_id))
    return ReconcileReport(
        objects_seen=len(objects),
        orphans=orphans,
        orphans_deleted=len(orphans) if delete else 0,
        accepted_checked=len(recent),
        missing_or_altered=broken,
    )


async def forget_ended_web_sessions(db: Database, *, now: datetime) -> int:
    """Delete browser sessions that have expired (revoked ones expire too); nothing can revive them."""
    async with db.transaction() as uow:
        return await uow.web_sessions.forget_ended_before(now)


async def run_maintenance_forever(
    db: Database,
    store: ObjectStore,
    *,
    retention: timedelta,
    stop: asyncio.Event,
    interval: timedelta = timedelta(hours=1),
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """The scheduled job: retention and reconciliation every `interval` until `stop` is set.

    Safe with several workers running it at once: every step is idempotent.
    """
    while not stop.is_set():
        try:
            now = clock()
            kept = await apply_retention(db, store, now=now, retention=retention)
            checked = await reconcile(db, store, now=now)
            await forget_ended_web_sessions(db, now=now)
            _log.info(
                "maintenance: %d photos past retention deleted, %d orphan objects removed, %d accepted photos "
                "re-verified, %d missing or altered",
                kept.photos,
                checked.orphans_deleted,
                checked.accepted_checked,
                len(checked.missing_or_altered),
            )
            if checked.missing_or_altered:
                _log.error("evidence missing or altered for photos %s", checked.missing_or_altered)
        except (DatabaseUnavailable, StorageUnavailable) as exc:
            _log.warning("maintenance skipped this round: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval.total_seconds())
