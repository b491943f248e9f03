"""Devices, capture sessions, photo attempts and idempotent replies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from infra.errors import ConflictingWrite
from infra.repositories.connection import Connection

HASH_BANDS = 4
_BAND_BITS = 16
# First key of the two-key advisory lock that keeps (actor, key) unique across the daily partitions of
# idempotency_keys (a unique index there must include created_at); the second key is a hash of both.
_IDEMPOTENCY_LOCK_NAMESPACE = 0x0D0E_0002
# First key of the two-key advisory locks on hash bands (the second is the band's value); the
# index of the band is added, so each band has its own key space. Any constant unused elsewhere.
_BAND_LOCK_NAMESPACE = 0x0D0D_0000


def hash_bands(perceptual_hash: int) -> list[int]:
    """The 16-bit bands of a 64-bit hash, low band first."""
    mask = (1 << _BAND_BITS) - 1
    return [(perceptual_hash >> (band * _BAND_BITS)) & mask for band in range(HASH_BANDS)]


def _signed64(value: int) -> int:
    # PostgreSQL bigint is signed; the hash is an unsigned 64-bit pattern.
    return value - (1 << 64) if value >= 1 << 63 else value


class DeviceRecord(msgspec.Struct, frozen=True, kw_only=True):
    device_id: uuid.UUID
    courier_id: str
    # `none`: 32 raw Ed25519 bytes; attested levels: P-256 SubjectPublicKeyInfo DER.
    public_key: bytes
    platform: str
    attestation_level: str
    app_id: str | None
    assertion_counter: int
    enrolled_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    order_id: str
    courier_id: str
    device_id: uuid.UUID
    nonce: str
    opened_at: datetime
    expires_at: datetime
    policy_version: int | None
    completed_at: datetime | None


class AttemptRecord(msgspec.Struct, frozen=True, kw_only=True):
    photo_id: uuid.UUID
    session_id: uuid.UUID
    order_id: str
    courier_id: str
    device_id: uuid.UUID
    device_attestation: str
    accepted: bool
    checks: list[dict[str, Any]]
    sha256: str
    size_bytes: int
    width: int
    height: int
    perceptual_hash: int
    captured_at: datetime | None
    lat: float | None
    lon: float | None
    distance_m: float | None
    label_share: float | None
    decoded_label: str | None
    original_key: str
    customer_copy_key: str | None
    created_at: datetime
    deleted_at: datetime | None


class NewAttempt(msgspec.Struct, frozen=True, kw_only=True):
    photo_id: uuid.UUID
    session_id: uuid.UUID
    order_id: str
    courier_id: str
    device_id: uuid.UUID
    device_attestation: str
    accepted: bool
    checks: list[dict[str, Any]]
    sha256: str
    size_bytes: int
    width: int
    height: int
    perceptual_hash: int
    detail_hash: bytes
    captured_at: datetime | None
    lat: float | None
    lon: float | None
    distance_m: float | None
    label_share: float | None
    decoded_label: str | None
    original_key: str
    customer_copy_key: str | None


class DuplicateCandidate(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    detail_hash: bytes


class StoredReply(msgspec.Struct, frozen=True, kw_only=True):
    request_hash: str
    status_code: int
    response: dict[str, Any]


_DEVICE_COLUMNS = (
    "device_id, courier_id, public_key, platform, attestation_level, app_id, assertion_counter,"
    " enrolled_at, revoked_at, revoked_by"
)
_SESSION_COLUMNS = (
    "session_id, order_id, courier_id, device_id, nonce, opened_at, expires_at, policy_version, completed_at"
)
_ATTEMPT_COLUMNS = (
    "photo_id, session_id, order_id, courier_id, device_id, device_attestation, accepted, checks, sha256, size_bytes,"
    " width, height, perceptual_hash, captured_at, lat, lon, distance_m, label_share, decoded_label,"
    " original_key, customer_copy_key, created_at, deleted_at"
)


def _attempt(row: asyncpg.Record) -> AttemptRecord:
    values = dict(row)
    values["perceptual_hash"] &= (1 << 64) - 1
    return msgspec.convert(values, AttemptRecord)


class DeviceRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def enroll(
        self,
        *,
        courier_id: str,
        public_key: bytes,
        platform: str,
        attestation_level: str,
        app_id: str | None,
        enrolled_at: datetime,
    ) -> DeviceRecord:
        row = await self._conn.fetchrow(
            f"""
            insert into courier_devices
                (device_id, courier_id, public_key, platform, attestation_level, app_id, enrolled_at)
            values ($1, $2, $3, $4, $5, $6, $7) returning {_DEVICE_COLUMNS}
            """,  # noqa: S608
            uuid.uuid4(),
            courier_id,
            public_key,
            platform,
            attestation_level,
            app_id,
            enrolled_at,
        )
        assert row is not None
        return msgspec.convert(row, DeviceRecord)

    async def get(self, device_id: uuid.UUID, *, for_update: bool = False) -> DeviceRecord | None:
        lock = " for update" if for_update else ""
        row = await self._conn.fetchrow(
            f"select {_DEVICE_COLUMNS} from courier_devices where device_id = $1{lock}",  # noqa: S608
            device_id,
        )
        return None if row is None else msgspec.convert(row, DeviceRecord)

    async def for_courier(self, courier_id: str) -> list[DeviceRecord]:
        rows = await self._conn.fetch(
            f"select {_DEVICE_COLUMNS} from courier_devices where courier_id = $1"  # noqa: S608
            " order by enrolled_at, device_id",
            courier_id,
        )
        return [msgspec.convert(row, DeviceRecord) for row in rows]

    async def revoke(self, device_id: uuid.UUID, *, at: datetime, by: str) -> DeviceRecord | None:
        """Revoke once: a second revocation keeps the first one's time and author."""
        row = await self._conn.fetchrow(
            f"""
            update courier_devices
               set revoked_at = coalesce(revoked_at, $2), revoked_by = coalesce(revoked_by, $3)
             where device_id = $1
            returning {_DEVICE_COLUMNS}
            """,  # noqa: S608
            device_id,
            at,
            by,
        )
        return None if row is None else msgspec.convert(row, DeviceRecord)

    async def advance_counter(self, device_id: uuid.UUID, counter: int) -> bool:
        """Store an App Attest counter if it is above the stored one; False when another upload got there first.

        One conditional update: two uploads with the same or crossing counters serialise on the row, and
        the one that finds the counter already at or past its own is refused.
        """
        row = await self._conn.fetchrow(
            """
            update courier_devices set assertion_counter = $2
             where device_id = $1 and assertion_counter < $2
            returning device_id
            """,
            device_id,
            counter,
        )
        return row is not None


class ChallengeRepository:
    """Enrollment challenges: stored as SHA-256, consumed at most once."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def issue(
        self, *, challenge_hash: bytes, courier_id: str, created_at: datetime, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            """
            insert into device_challenges (challenge_hash, courier_id, created_at, expires_at)
            values ($1, $2, $3, $4)
            """,
            challenge_hash,
            courier_id,
            created_at,
            expires_at,
        )

    async def consume(self, *, challenge_hash: bytes, courier_id: str, now: datetime) -> bool:
        """Mark the courier's unexpired, unused challenge used; False for an unknown, used or expired one."""
        row = await self._conn.fetchrow(
            """
            update device_challenges set used_at = $3
             where challenge_hash = $1 and courier_id = $2 and used_at is null and expires_at > $3
            returning challenge_hash
            """,
            challenge_hash,
            courier_id,
            now,
        )
        return row is not None


class SessionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def open(
        self,
        *,
        order_id: str,
        courier_id: str,
        device_id: uuid.UUID,
        nonce: str,
        opened_at: datetime,
        expires_at: datetime,
        policy_version: int | None,
    ) -> SessionRecord:
        row = await self._conn.fetchrow(
            f"""
            insert into capture_sessions
                (session_id, order_id, courier_id, device_id, nonce, opened_at, expires_at, policy_version)
            values ($1, $2, $3, $4, $5, $6, $7, $8) returning {_SESSION_COLUMNS}
            """,  # noqa: S608
            uuid.uuid4(),
            order_id,
            courier_id,
            device_id,
            nonce,
            opened_at,
            expires_at,
            policy_version,
        )
        assert row is not None
        return msgspec.convert(row, SessionRecord)

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        row = await self._conn.fetchrow(
            f"select {_SESSION_COLUMNS} from capture_sessions where session_id = $1",  # noqa: S608
            session_id,
        )
        return None if row is None else msgspec.convert(row, SessionRecord)

    async def complete(self, session_id: uuid.UUID, at: datetime) -> None:
        await self._conn.execute(
            "update capture_sessions set completed_at = $2 where session_id = $1 and completed_at is null",
            session_id,
            at,
        )


class AttemptRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, attempt: NewAttempt) -> AttemptRecord:
        bands = hash_bands(attempt.perceptual_hash)
        try:
            row = await self._conn.fetchrow(
                f"""
                insert into photo_attempts (
                    photo_id, session_id, order_id, courier_id, device_id, accepted, checks, sha256,
                    size_bytes, width, height, perceptual_hash,
                    hash_band_0, hash_band_1, hash_band_2, hash_band_3, captured_at, lat, lon, distance_m,
                    label_share, decoded_label, original_key, customer_copy_key, detail_hash,
                    device_attestation)
                values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                        $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
                returning {_ATTEMPT_COLUMNS}
                """,  # noqa: S608
                attempt.photo_id,
                attempt.session_id,
                attempt.order_id,
                attempt.courier_id,
                attempt.device_id,
                attempt.accepted,
                attempt.checks,
                attempt.sha256,
                attempt.size_bytes,
                attempt.width,
                attempt.height,
                _signed64(attempt.perceptual_hash),
                *bands,
                attempt.captured_at,
                attempt.lat,
                attempt.lon,
                attempt.distance_m,
                attempt.label_share,
                attempt.decoded_label,
                attempt.original_key,
                attempt.customer_copy_key,
                attempt.detail_hash,
                attempt.device_attestation,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ConflictingWrite("another photo was accepted for this order first") from exc
        assert row is not None
        # The keys this attempt references are settled with it: reconcile checks only what stays.
        await self._conn.execute(
            "delete from object_intents where key = any($1::text[])",
            [key for key in (attempt.original_key, attempt.customer_copy_key) if key],
        )
        return _attempt(row)

    async def for_order(self, order_id: str) -> list[AttemptRecord]:
        rows = await self._conn.fetch(
            f"select {_ATTEMPT_COLUMNS} from photo_attempts where order_id = $1 order by created_at",  # noqa: S608
            order_id,
        )
        return [_attempt(row) for row in rows]

    async def get(self, photo_id: uuid.UUID) -> AttemptRecord | None:
        row = await self._conn.fetchrow(
            f"select {_ATTEMPT_COLUMNS} from photo_attempts where photo_id = $1",  # noqa: S608
            photo_id,
        )
        return None if row is None else _attempt(row)

    async def lock_similar(self, perceptual_hash: int) -> None:
        """Hold, until the transaction ends, a lock on each band of this hash.

        Two photos that `duplicate_candidates` could match share at least one band exactly, so their
        transactions queue on that band's lock: the second one's duplicate search runs after the
        first has committed and sees its row. Bands are locked in index order, so two transactions
        never wait on each other in a cycle.
        """
        await self._conn.execute(
            """
            select pg_advisory_xact_lock(($1 + band.index - 1)::integer, band.value)
              from unnest($2::integer[]) with ordinality as band (value, index)
             order by band.index
            """,
            _BAND_LOCK_NAMESPACE,
            hash_bands(perceptual_hash),
        )

    async def duplicate_candidates(
        self, *, perceptual_hash: int, sha256: str, other_than_order: str, max_distance: int
    ) -> list[DuplicateCandidate]:
        """Photos of other orders with the same bytes, or a coarse hash within max_distance bits.

        Candidates come from the band indexes; max_distance must be < HASH_BANDS for completeness.
        Same bytes come back with an all-zero-distance detail hash of their own, so callers
        confirm every candidate the same way.
        """
        bands = hash_bands(perceptual_hash)
        rows = await self._conn.fetch(
            """
            select order_id, detail_hash from photo_attempts
             where order_id <> $1
               and (sha256 = $2
                    or ((hash_band_0 = $3 or hash_band_1 = $4 or hash_band_2 = $5 or hash_band_3 = $6)
                        and bit_count((perceptual_hash # $7)::bit(64)) <= $8))
             limit 50
            """,
            other_than_order,
            sha256,
            *bands,
            _signed64(perceptual_hash),
            max_distance,
        )
        return [msgspec.convert(row, DuplicateCandidate) for row in rows]

    async def expired_evidence(self, *, created_before: datetime, limit: int) -> list[AttemptRecord]:
        """Attempts past retention whose evidence is still stored and whose order has no open claim."""
        rows = await self._conn.fetch(
            f"""
            select {_ATTEMPT_COLUMNS} from photo_attempts a
             where a.created_at < $1 and a.deleted_at is null
               and not exists (select 1 from claims c where c.order_id = a.order_id and c.status = 'open')
             order by a.created_at limit $2
            """,  # noqa: S608
            created_before,
            limit,
        )
        return [_attempt(row) for row in rows]

    async def mark_deleted(self, photo_ids: list[uuid.UUID], at: datetime) -> None:
        await self._conn.execute(
            """
            update photo_attempts set deleted_at = $2
             where photo_id = any($1::uuid[]) and deleted_at is null
            """,
            photo_ids,
            at,
        )

    async def accepted_since(self, since: datetime, *, limit: int) -> list[AttemptRecord]:
        rows = await self._conn.fetch(
            f"""
            select {_ATTEMPT_COLUMNS} from photo_attempts
             where accepted and deleted_at is null and created_at >= $1 order by created_at limit $2
            """,  # noqa: S608
            since,
            limit,
        )
        return [_attempt(row) for row in rows]

    async def keys_referenced(self, keys: list[str]) -> set[str]:
        rows = await self._conn.fetch(
            """
            select original_key as key from photo_attempts where original_key = any($1::text[])
            union
            select customer_copy_key from photo_attempts where customer_copy_key = any($1::text[])
            """,
            keys,
        )
        return {row["key"] for row in rows}


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def find(self, actor: str, key: str) -> StoredReply | None:
        row = await self._conn.fetchrow(
            "select request_hash, status_code, response from idempotency_keys where actor = $1 and key = $2",
            actor,
            key,
        )
        return None if row is None else msgspec.convert(row, StoredReply)

    async def remember(
        self, *, actor: str, key: str, request_hash: str, status_code: int, response: dict[str, Any]
    ) -> None:
        # The lock queues a concurrent twin of this request until we commit; its insert below then runs
        # with a snapshot that sees our row (one statement, one snapshot), as a unique index would.
        await self._conn.execute(
            "select pg_advisory_xact_lock($1, hashtext($2 || ':' || $3))",
            _IDEMPOTENCY_LOCK_NAMESPACE,
            actor,
            key,
        )
        status = await self._conn.execute(
            """
            insert into idempotency_keys (actor, key, request_hash, status_code, response)
            select $1::text, $2::text, $3::text, $4::integer, $5::jsonb
             where not exists (select 1 from idempotency_keys where actor = $1 and key = $2)
            """,
            actor,
            key,
            request_hash,
            status_code,
            response,
        )
        if status.split()[-1] == "0":
            raise ConflictingWrite("the same idempotency key was used concurrently")
