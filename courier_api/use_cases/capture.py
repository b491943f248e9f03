"""Photo proof at the door: open a capture session, then accept or reject an uploaded photo.

Upload order of work, chosen so that nothing is ever half-written:
1. cheap refusals (role, headers, session, idempotent replay) in a short read transaction;
2. verification in the process pool (no transaction held);
3. originals and customer copy to S3 with conditional puts (an S3 failure: 503, nothing recorded);
4. one transaction records the attempt, the delivery state, the outbox event and the idempotent reply.
A crash between 3 and 4 leaves only unreferenced objects; their keys were recorded as intents before
the puts, so `reconcile` finds and removes them without listing the bucket.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from courier_api import metrics
from courier_api.access import order_for
from courier_api.auth import Principal
from courier_api.components.photo_verifier import PhotoVerifier
from courier_api.components.policy_catalog import PolicyCatalog
from courier_api.context import Config, RequestContext
from courier_api.errors import Conflict, IdempotencyMismatch, InvalidInput, NotEligible, NotFound
from courier_api.notifications.texts import DOOR_DROP_COMPLETED
from courier_api.schemas.capture import (
    CaptureRequirements,
    CaptureSessionView,
    CheckView,
    DeliveryState,
    PhotoAttemptView,
)
from courier_api.use_cases.doorsteps import RecordedCheck, door_verdict, lock_cells
from courier_api.use_cases.eligibility import order_facts
from device_attestation import (
    PhotoSignatureAccepted,
    PhotoSignatureVerdict,
    verify_android_photo_signature,
    verify_app_attest_assertion,
)
from eligibility import Decision, decide
from infra.database import Database
from infra.errors import ConflictingWrite
from infra.repositories import UnitOfWork
from infra.repositories.capture import NewAttempt
from infra.repositories.orders import OrderRecord
from infra.storage import ObjectStore
from photo_pipeline import Check, Expectations, Verdict

BARCODE_FORMATS = ["Code128", "QRCode", "DataMatrix"]
_SIGNATURE_BYTES = 64
# What the session's device sends with each photo, by its attestation level (shown in the requirements).
_PROOF_PER_LEVEL = {
    "none": "X-Capture-Signature: base64 Ed25519 signature of the 32-byte SHA-256 of the exact JPEG bytes",
    "tee": "X-Capture-Signature: base64 DER ECDSA P-256 signature (SHA256withECDSA) over the exact JPEG bytes",
    "strongbox": "X-Capture-Signature: base64 DER ECDSA P-256 signature (SHA256withECDSA) over the exact JPEG "
    "bytes",
    "app_attest": "X-Capture-Assertion: base64 App Attest assertion over SHA-256 of the exact JPEG bytes",
}


async def open_session(ctx: RequestContext, order_id: str, device_id: uuid.UUID) -> CaptureSessionView:
    """Open a capture session for a door drop that is opted in and eligible now."""
    uow, principal, now, limits = ctx.uow, ctx.principal, ctx.now, ctx.config.photo
    await ctx.count("session.courier", principal.sub)
    order = await order_for(uow, principal, order_id, roles=("courier",))
    if order.status != "pending":
        raise Conflict("the delivery is already completed", code="delivery.already_completed")
    device = await uow.devices.get(device_id)
    if device is None or device.courier_id != principal.sub:
        raise NotFound("device")
    if device.revoked_at is not None:
        raise _device_revoked()
    decision = await require_door_drop_active(uow, ctx.catalog, order, now)
    expires_at = now + ctx.config.capture_session_ttl
    session = await uow.sessions.open(
        order_id=order_id,
        courier_id=principal.sub,
        device_id=device_id,
        nonce=secrets.token_urlsafe(24),
        opened_at=now,
        expires_at=expires_at,
        policy_version=decision.policy_version,
    )
    skew = ctx.config.capture_clock_skew
    return CaptureSessionView(
        session_id=session.session_id,
        nonce=session.nonce,
        expires_at=session.expires_at,
        requirements=CaptureRequirements(
            exif_image_unique_id=session.nonce,
            label_code=order.label_code,
            barcode_formats=BARCODE_FORMATS,
            label_min_share=limits.label_min_share,
            label_max_share=limits.label_max_share,
            gps_radius_m=limits.gps_radius_m,
            max_bytes=limits.max_bytes,
            capture_not_before=session.opened_at - skew,
            capture_not_after=session.expires_at,
            signature=_PROOF_PER_LEVEL.get(device.attestation_level, _PROOF_PER_LEVEL["tee"]),
        ),
    )


async def require_door_drop_active(
    uow: UnitOfWork, catalog: PolicyCatalog, order: OrderRecord, now: datetime, *, authoritative: bool = False
) -> Decision:
    """The door drop is opted in, the customer not barred and the order eligible now; else refuse.

    What the courier learns is limited to what they may know: a customer's fraud bar reads exactly
    like an opt-out (`door_drop.not_enabled`), and the reasons of `door_drop.not_eligible` are about
    the order, never the customer. `authoritative` reads the bar and the latest policy version in
    the caller's transaction instead of trusting memory: the check that commits a drop uses it.
    """
    not_active = Conflict(
        "door drop is not active for this order: hand the parcel over in person", code="door_drop.not_enabled"
    )
    if not order.door_drop_enabled:
        raise not_active
    read = catalog.versions_and_bar_now if authoritative else catalog.versions_and_bar
    versions, barred = await read(uow, order.customer_id)
    if barred:
        raise not_active
    decision = decide(order_facts(order.snapshot, customer_barred=False), versions, now)
    if not decision.eligible:
        raise NotEligible(
            "door drop is no longer available for this order: hand the parcel over in person",
            decision=decision,
            locale=order.snapshot.customer.locale,
        )
    return decision


@dataclass(frozen=True, slots=True)
class PhotoUpload:
    order_id: str
    session_id: str
    signature: str
    idempotency_key: str
    body: bytes
    # iOS (App Attest) devices send an assertion instead of a signature; "" when absent.
    assertion: str = ""


@dataclass(frozen=True, slots=True)
class UploadResult:
    status_code: int
    view: PhotoAttemptView


@dataclass(frozen=True, slots=True)
class CaptureContext:
    """What the upload needs, read in one short transaction."""

    order: OrderRecord
    session_id: uuid.UUID
    device_id: uuid.UUID
    public_key: bytes
    # The device's attestation level, recorded with each attempt, and what its per-photo proof needs.
    attestation_level: str
    app_id: str | None
    last_counter: int
    expectations: Expectations


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    check: Check
    # App Attest: the verified assertion's counter, stored by the accepting transaction if still above.
    counter: int | None = None


def _request_hash(upload: PhotoUpload, body_sha256: str) -> str:
    parts = [upload.order_id, upload.session_id, upload.signature, body_sha256]
    if upload.assertion:  # appended only when present: hashes stored before assertions stay valid
        parts.append(upload.assertion)
    material = "\n".join(parts)
    return hashlib.sha256(material.encode()).hexdigest()


def _parse_session_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise InvalidInput(
            "X-Capture-Session must be a session id", field="X-Capture-Session", code="request.invalid_header"
        ) from exc


def _decode_signature(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _SIGNATURE_BYTES else None


def signature_check(public_key: bytes, signature_text: str, body_sha256: str) -> Check:
    signature = _decode_signature(signature_text)
    if signature is None:
        return Check(code="provenance.signature", passed=False, detail="signature is not 64 bytes of base64")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, bytes.fromhex(body_sha256))
    except InvalidSignature:
        return Check(
            code="provenance.signature",
            passed=False,
            detail="signature does not verify against the enrolled device key",
        )
    return Check(code="provenance.signature", passed=True, detail="verified with the enrolled device key")


def device_signature_check(context: CaptureContext, upload: PhotoUpload, body_sha256: str) -> SignatureCheck:
    """The photo's proof by the session's device: Android ECDSA, App Attest assertion, or Ed25519 (`none`)."""
    digest = bytes.fromhex(body_sha256)
    verdict: PhotoSignatureVerdict
    match context.attestation_level:
        case "none":
            return SignatureCheck(signature_check(context.public_key, upload.signature, body_sha256))
        case "app_attest":
            assertion = _base64_or_none(upload.assertion)
            if assertion is None:
                return _signature_failed("an App Attest device sends X-Capture-Assertion (base64)")
            verdict = verify_app_attest_assertion(
                assertion,
                client_data=upload.body,
                public_key_der=context.public_key,
                app_id=context.app_id or "",
                last_counter=context.last_counter,
                client_data_hash=digest,
            )
        case _:
            signature = _base64_or_none(upload.signature)
            if signature is None:
                return _signature_failed("an Android device sends X-Capture-Signature (base64 DER ECDSA)")
            verdict = verify_android_photo_signature(
                context.public_key, upload.body, signature, photo_sha256=digest
            )
    if isinstance(verdict, PhotoSignatureAccepted):
        counter = verdict.counter if context.attestation_level == "app_attest" else None
        detail = f"verified with the device's attested key ({context.attestation_level})"
        return SignatureCheck(Check(code="provenance.signature", passed=True, detail=detail), counter)
    return _signature_failed("; ".join(f"{r.code}: {r.detail}" for r in verdict.reasons))


def _signature_failed(detail: str) -> SignatureCheck:
    return SignatureCheck(Check(code="provenance.signature", passed=False, detail=detail))


def _base64_or_none(text: str) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _device_revoked() -> Conflict:
    return Conflict(
        "this device was revoked: enroll the phone again or contact support", code="device.revoked"
    )


class PhotoIntake:
    """Everything an upload touches, held by the app for its lifetime."""

    def __init__(
        self,
        *,
        db: Database,
        store: ObjectStore,
        verifier: PhotoVerifier,
        config: Config,
        catalog: PolicyCatalog,
    ) -> None:
        self._catalog = catalog
        self._db = db
        self._store = store
        self._verifier = verifier
        self._config = config
        self._limits = config.photo

    async def preflight(
        self, ctx: RequestContext, order_id: str, session_id: str, declared_bytes: int | None
    ) -> None:
        """Refuse from the headers alone, before the body is read: role, size, order and session ownership.

        Only refusals that no replay could turn into an answer: a completed delivery or a revoked device
        may still owe this very request (same key, same body) its stored answer, which needs the body,
        so `submit` decides those.
        """
        principal = ctx.principal
        principal.require("courier")
        parsed_session = _parse_session_id(session_id)
        if declared_bytes is not None and declared_bytes > self._limits.max_bytes:
            raise InvalidInput(
                f"the photo exceeds {self._limits.max_bytes} bytes", code="photo.too_many_bytes"
            )
        try:
            async with self._db.read() as uow:  # a check only: no snapshot shared between its reads
                await _capture_context(uow, principal, order_id, parsed_session, ctx.now, self._config)
        except Conflict:
            return
        except NotFound as missing:
            if missing.what != "device":
                raise

    async def submit(self, ctx: RequestContext, upload: PhotoUpload) -> UploadResult:
        principal, now = ctx.principal, ctx.now
        principal.require("courier")
        if not upload.body:
            raise InvalidInput("the request body is empty: send the JPEG bytes", code="photo.empty")
        if len(upload.body) > self._limits.max_bytes:
            raise InvalidInput(
                f"the photo exceeds {self._limits.max_bytes} bytes", code="photo.too_many_bytes"
            )
        session_id = _parse_session_id(upload.session_id)
        body_sha256 = hashlib.sha256(upload.body).hexdigest()
        request_hash = _request_hash(upload, body_sha256)
        actor = f"courier:{principal.sub}"

        # Two single statements, no transaction around them (no BEGIN/COMMIT round trips): the
        # replay lookup, then the courier's hit, committed at once so refused requests count too.
        async with self._db.autocommit() as uow:
            replay = await _replay(uow, actor, upload.idempotency_key, request_hash)
            if replay is not None:
                return replay
            await ctx.limiter.check(uow, "upload.courier", principal.sub, now)
        async with self._db.transaction() as uow:
            context = await _capture_context(uow, principal, upload.order_id, session_id, now, self._config)
            # Early refusal, before paying for verification; `_record` decides again, authoritatively.
            await require_door_drop_active(uow, self._catalog, context.order, now)
            await ctx.limiter.check(uow, "upload.device", str(context.device_id), now)

        verdict = await self._verifier.verify(
            upload.body, context.expectations, self._limits, sha256=body_sha256
        )
        proof = device_signature_check(context, upload, body_sha256)
        checks = [proof.check, *verdict.checks]
        # The door checks (`reuse.duplicate`, `door.*`) are not here: they run in `_record`, where the
        # decision commits.
        passed_so_far = all(check.passed for check in checks)

        photo_id = uuid.uuid4()
        original_key = f"evidence/{upload.order_id}/{photo_id}.jpg"
        copy_key = f"customer-copies/{upload.order_id}/{photo_id}.jpg" if passed_so_far else None
        # Committed before the puts: if we die after one, reconcile finds the key among the intents.
        async with self._db.autocommit() as uow:
            await uow.object_intents.record(photo_id, [k for k in (original_key, copy_key) if k], now)
        await self._store.put_new(
            original_key, upload.body, sha256_hex=body_sha256, content_type="image/jpeg"
        )
        if copy_key:
            await self._store.put_new(
                copy_key,
                verdict.customer_copy,
                sha256_hex=hashlib.sha256(verdict.customer_copy).hexdigest(),
                content_type="image/jpeg",
            )
        try:
            result = await self._record(
                principal,
                upload,
                context,
                verdict,
                checks,
                photo_id,
                original_key,
                copy_key,
                request_hash,
                now,
                proof.counter,
            )
        except BaseException:
            # Not recorded: the objects are orphans. Remove them now; reconcile catches what this misses.
            await self._forget(original_key, copy_key)
            raise
        if result.view.verdict != "accepted":
            await self._forget(copy_key)  # stored ahead of the duplicate check, which refused it
        metrics.observe_verdict(result.view.verdict, result.view.checks)
        return result

    async def _record(
        self,
        principal: Principal,
        upload: PhotoUpload,
        context: CaptureContext,
        verdict: Verdict,
        checks: list[Check],
        photo_id: uuid.UUID,
        original_key: str,
        copy_key: str | None,
        request_hash: str,
        now: datetime,
        assertion_counter: int | None = None,
    ) -> UploadResult:
        actor = f"courier:{principal.sub}"
        try:
            async with self._db.transaction() as uow:
                # Cell locks first, then the photo's bytes, then the order row: uploads whose doorsteps
                # could be compared (addresses in neighbouring cells), or that carry the same bytes,
                # queue here, so the door search below sees every one committed before it.
                cells = lock_cells(context.order)
                await uow.attempts.lock_cells_and_bytes(cells, verdict.sha256)
                order = await uow.orders.get(upload.order_id, for_update=True)
                assert order is not None
                if lock_cells(order) != cells:
                    raise Conflict(
                        "the order's address changed during the upload: take the photo again",
                        code="order.address_changed",
                    )
                # The proof cannot outlive the facts it proves: opt-in, bar and eligibility are
                # decided again here, in the transaction that would accept the photo.
                await require_door_drop_active(uow, self._catalog, order, now, authoritative=True)
                checks = await _settle_device(uow, context, checks, assertion_counter)
                recorded = [
                    *(RecordedCheck(code=c.code, passed=c.passed, detail=c.detail) for c in checks),
                    *await door_verdict(uow, order, verdict.doorstep, verdict.sha256, now),
                ]
                # An advisory failure (`door.unfamiliar`) is recorded and shown, never a reason to refuse.
                accepted = copy_key is not None and not any(check.blocks for check in recorded)
                if accepted and order.status != "pending":
                    raise Conflict(
                        "another photo completed this delivery first", code="delivery.already_completed"
                    )
                capture = verdict.capture
                await uow.attempts.add(
                    NewAttempt(
                        photo_id=photo_id,
                        session_id=context.session_id,
                        order_id=upload.order_id,
                        courier_id=principal.sub,
                        device_id=context.device_id,
                        device_attestation=context.attestation_level,
                        accepted=accepted,
                        checks=[msgspec.to_builtins(check) for check in recorded],
                        sha256=verdict.sha256,
                        size_bytes=len(upload.body),
                        width=capture.width,
                        height=capture.height,
                        perceptual_hash=verdict.perceptual_hash,
                        detail_hash=verdict.detail_hash,
                        captured_at=capture.captured_at,
                        lat=capture.lat,
                        lon=capture.lon,
                        distance_m=capture.distance_m,
                        label_share=verdict.label_share,
                        decoded_label=verdict.decoded_label,
                        original_key=original_key,
                        customer_copy_key=copy_key if accepted else None,
                        doorstep=verdict.doorstep,
                    )
                )
                status = order.status
                if accepted:
                    # The drop happened when the server accepted it, not when the courier's phone
                    # says: a late upload cannot backdate it (and shorten the claim window).
                    await uow.orders.mark_left_at_door(
                        upload.order_id,
                        photo_id=photo_id,
                        accepted_at=now,
                        captured_at=capture.captured_at,
                        lat=capture.lat,
                        lon=capture.lon,
                    )
                    await uow.sessions.complete(context.session_id, now)
                    await uow.outbox.enqueue(
                        event_type=DOOR_DROP_COMPLETED,
                        payload=_completed_event(order.order_id, photo_id, now),
                        event_id=photo_id,
                    )
                    status = "left_at_door"
                view = PhotoAttemptView(
                    photo_id=photo_id,
                    verdict="accepted" if accepted else "rejected",
                    checks=[
                        CheckView(code=c.code, passed=c.passed, detail=c.detail, severity=c.severity)
                        for c in recorded
                    ],
                    delivery=DeliveryState(status=status),
                )
                await uow.idempotency.remember(
                    actor=actor,
                    key=upload.idempotency_key,
                    request_hash=request_hash,
                    status_code=201,
                    response=msgspec.to_builtins(view),
                )
                return UploadResult(status_code=201, view=view)
        except ConflictingWrite:
            # A concurrent request won: the same key finished first (replay it), or another photo
            # was accepted for this order first.
            async with self._db.transaction() as uow:
                replay = await _replay(uow, actor, upload.idempotency_key, request_hash)
            if replay is not None:
                raise _Replayed(replay) from None
            raise Conflict(
                "another photo completed this delivery first", code="delivery.already_completed"
            ) from None

    async def _forget(self, *keys: str | None) -> None:
        for key in keys:
            if key:
                with contextlib.suppress(Exception):  # best effort; reconcile removes what stays
                    await self._store.delete(key)

    async def submit_or_replay(self, ctx: RequestContext, upload: PhotoUpload) -> UploadResult:
        """Submit; when this very request (same key, same body) won a race elsewhere, answer its answer."""
        principal = ctx.principal
        try:
            return await self.submit(ctx, upload)
        except _Replayed as replayed:
            return replayed.result
        except Conflict as conflict:
            # "Already completed" may mean a twin of this request completed it on another process
            # between our checks: the key then holds the answer to give.
            if conflict.code != "delivery.already_completed":
                raise
            async with self._db.transaction() as uow:
                replay = await _replay(
                    uow,
                    f"courier:{principal.sub}",
                    upload.idempotency_key,
                    _request_hash(upload, hashlib.sha256(upload.body).hexdigest()),
                )
            if replay is None:
                raise
            return replay


class _Replayed(Exception):
    def __init__(self, result: UploadResult) -> None:
        super().__init__("replayed")
        self.result = result


async def _replay(uow: UnitOfWork, actor: str, key: str, request_hash: str) -> UploadResult | None:
    stored = await uow.idempotency.find(actor, key)
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyMismatch("this Idempotency-Key was already used for a different upload")
    return UploadResult(
        status_code=stored.status_code, view=msgspec.convert(stored.response, PhotoAttemptView)
    )


async def _capture_context(
    uow: UnitOfWork,
    principal: Principal,
    order_id: str,
    session_id: uuid.UUID,
    now: datetime,
    config: Config,
) -> CaptureContext:
    order = await order_for(uow, principal, order_id, roles=("courier",))
    session = await uow.sessions.get(session_id)
    if session is None or session.order_id != order_id or session.courier_id != principal.sub:
        raise NotFound("capture_session")
    if order.status != "pending" or session.completed_at is not None:
        raise Conflict("the delivery is already completed", code="delivery.already_completed")
    if now > session.expires_at + config.capture_upload_grace:
        raise Conflict(
            "the capture session expired: open a new session and take the photo again",
            code="capture_session.expired",
        )
    device = await uow.devices.get(session.device_id)
    if device is None:
        raise NotFound("device")
    if device.revoked_at is not None:
        raise _device_revoked()
    snapshot = order.snapshot
    return CaptureContext(
        order=order,
        session_id=session.session_id,
        device_id=device.device_id,
        public_key=device.public_key,
        attestation_level=device.attestation_level,
        app_id=device.app_id,
        last_counter=device.assertion_counter,
        expectations=Expectations(
            nonce=session.nonce,
            label_code=order.label_code,
            session_opened_at=session.opened_at,
            session_expires_at=session.expires_at,
            now=now,
            address_lat=snapshot.address.lat,
            address_lon=snapshot.address.lon,
        ),
    )


async def _settle_device(
    uow: UnitOfWork, context: CaptureContext, checks: list[Check], assertion_counter: int | None
) -> list[Check]:
    """In the accepting transaction: the device is still not revoked, and an App Attest counter is spent.

    The device row is locked, so a revocation commits either before (this upload is refused) or after
    (the photo was accepted while the device was valid). The counter moves only upwards, by a conditional
    update: of two uploads carrying the same or crossing counters, the later one fails `provenance.signature`.
    """
    device = await uow.devices.get(context.device_id, for_update=True)
    if device is None or device.revoked_at is not None:
        raise _device_revoked()
    if assertion_counter is None:
        return checks
    if await uow.devices.advance_counter(context.device_id, assertion_counter):
        return checks
    replayed = Check(
        code="provenance.signature",
        passed=False,
        detail=f"assertion counter {assertion_counter} was already used: a replayed or older assertion",
    )
    return [replayed if check.code == "provenance.signature" else check for check in checks]


def _completed_event(order_id: str, photo_id: uuid.UUID, left_at: datetime) -> dict[str, Any]:
    # Identifiers only: the worker reads contact details from the order when it sends,
    # so no email or phone number is copied into the outbox.
    return {"orderId": order_id, "photoId": str(photo_id), "leftAt": left_at.isoformat()}
