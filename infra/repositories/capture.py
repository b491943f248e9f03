"""Devices, capture sessions, photo attempts and idempotent replies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from infra.documents import Address
from infra.errors import ConflictingWrite
from infra.repositories.connection import Connection

HASH_BANDS = 4
_BAND_BITS = 16
# First key of the two-key advisory lock that keeps (actor, key) unique across the daily partitions of
# idempotency_keys (a unique index there must include created_at); the second key is a hash of both.
_IDEMPOTENCY_LOCK_NAMESPACE = 0x0D0E_0002
# First keys of the two-key advisory locks the accepting transaction takes (any constants unused
# elsewhere): the map cells around the order's address, then the photo's bytes.
_CELL_LOCK_NAMESPACE = 0x0D0D_0C00
_BYTES_LOCK_NAMESPACE = 0x0D0D_0B00


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
    doorstep: bytes = b""


class DoorCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted photo near the address: its order, that order's address and its doorstep fingerprint."""

    order_id: str
    # None for an order stored before address keys existed: the caller derives it from `address`.
    address_key: str | None
    address: Address
    doorstep: bytes


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
                    device_attestation, doorstep)
                values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                        $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)
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
                attempt.doorstep,
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

    async def lock_cells_and_bytes(self, cells: list[int], sha256: str) -> None:
        """Hold, until the transaction ends, a lock on each map cell (ascending), then on the photo's bytes.

        Two uploads whose doorsteps the accepting transaction compares are at addresses in neighbouring
        cells, so each one's 3x3 block holds the other's cell: they queue there, and the second one's
        candidate search runs after the first has committed and sees its row. Two uploads of the same
        bytes queue on the bytes lock. Every transaction takes cells in ascending order and the bytes
        lock last, so none waits on another in a cycle. Cell ids are folded into 32 bits: a collision
        only queues two unrelated uploads, it never lets two related ones pass each other.
        """
        await self._conn.execute(
            """
            select pg_advisory_xact_lock($1::integer, ((cell % 4294967296 + 4294967296) % 4294967296 - 2147483648)::integer)
              from unnest($2::bigint[]) with ordinality as c (cell, index)
             order by c.index
            """,
            _CELL_LOCK_NAMESPACE,
            sorted(set(cells)),
        )
        await self._conn.execute(
            "select pg_advisory_xact_lock($1::integer, ('x' || left($2, 8))::bit(32)::integer)",
            _BYTES_LOCK_NAMESPACE,
            sha256,
        )

    async def same_bytes(self, *, sha256: str, other_than_order: str) -> list[str]:
        """Orders other than this one with an attempt of exactly these bytes (accepted or not)."""
        rows = await self._conn.fetch(
            """
            select distinct order_id from photo_attempts
             where sha256 = $1 and order_id <> $2 order by order_id limit 50
            """,
            sha256,
            other_than_order,
        )
        return [row["order_id"] for row in rows]

    async def door_candidates(
        self,
        *,
        cells: list[int],
        centre: int,
        address_key: str,
        since: datetime,
        other_than_order: str,
        limit_same_address: int,
        limit_nearby: int,
    ) -> list[DoorCandidate]:
        """Accepted photos delivered since `since`: at this address, and at any address in these cells.

        Bounded on purpose: two index range scans (`orders_door_address_idx`, `orders_door_cell_idx`)
        over delivered orders in the window, newest first, at most `limit_same_address` +
        `limit_nearby` rows; the nearby ones from the address's own cell first (the same building).
        Never a scan over all photos.
        """
        rows = await self._conn.fetch(
            """
            (select o.order_id, o.address_key, o.snapshot -> 'address' as address, a.doorstep
               from orders o join photo_attempts a on a.photo_id = o.accepted_photo_id
              where o.accepted_photo_id is not null and o.address_key = $2 and o.delivered_at >= $3
                and o.order_id <> $4 and octet_length(a.doorstep) > 0
              order by o.delivered_at desc limit $5)
            union all
            (select o.order_id, o.address_key, o.snapshot -> 'address' as address, a.doorstep
               from orders o join photo_attempts a on a.photo_id = o.accepted_photo_id
              where o.accepted_photo_id is not null and o.geo_cell = any($1::bigint[])
                and o.delivered_at >= $3 and o.order_id <> $4 and octet_length(a.doorstep) > 0
                and o.address_key is distinct from $2
              order by o.geo_cell = $7 desc, o.delivered_at desc limit $6)
            """,
            cells,
            address_key,
            since,
            other_than_order,
            limit_same_address,
            limit_nearby,
            centre,
        )
        return [msgspec.convert(dict(row), DoorCandidate) for row in rows]

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
