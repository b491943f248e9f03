"""Courier devices: enrollment challenges, hardware-attested enrollment, support's list and revocation.

A device is the key that signs the photos. With DEVICE_ATTESTATION=required (production), a key enrolls only
when the platform proves it lives in a genuine phone's secure hardware and belongs to our app: Android Key
Attestation (level `strongbox` or `tee`) or Apple App Attest (`app_attest`). A bare Ed25519 key (`none`) is
accepted only with DEVICE_ATTESTATION=off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import uuid
from datetime import timedelta

from courier_api.context import RequestContext
from courier_api.errors import AttestationRefused, InvalidInput, NotFound
from courier_api.request_context import request_id_var
from courier_api.schemas.capture import (
    CourierDevices,
    DeviceAttestationView,
    DeviceChallenge,
    DeviceEnrollment,
    DeviceSummary,
    DeviceView,
)
from device_attestation import AttestationVerdict, EnrollmentAccepted
from infra.repositories.capture import DeviceRecord

ED25519_KEY_BYTES = 32
CHALLENGE_BYTES = 32
# Long enough to generate a key and read its attestation on a slow phone; short enough that a challenge
# copied off one phone is soon worthless.
CHALLENGE_TTL = timedelta(minutes=10)


def decode_public_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("publicKey is not valid base64", field="publicKey", code="device.bad_key") from exc
    if len(raw) != ED25519_KEY_BYTES:
        raise InvalidInput(
            f"publicKey must be the {ED25519_KEY_BYTES} raw bytes of an Ed25519 key, got {len(raw)}",
            field="publicKey",
            code="device.bad_key",
        )
    return raw


async def issue_challenge(ctx: RequestContext) -> DeviceChallenge:
    """A fresh single-use challenge for the calling courier's next enrollment (10 minutes)."""
    ctx.principal.require("courier")
    await ctx.count("device.challenge", ctx.principal.sub)
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    expires_at = ctx.now + CHALLENGE_TTL
    await ctx.uow.challenges.issue(
        challenge_hash=hashlib.sha256(challenge).digest(),
        courier_id=ctx.principal.sub,
        created_at=ctx.now,
        expires_at=expires_at,
    )
    return DeviceChallenge(challenge=base64.b64encode(challenge).decode(), expires_at=expires_at)


async def enroll(ctx: RequestContext, request: DeviceEnrollment) -> DeviceView:
    """Register a courier's device key once its platform proved it (or, attestation off, as a bare key).

    Runs in its own short transactions: the rate-limit hit and the challenge's use commit before the
    verification, so a refused attempt still counts and still spends its challenge.
    """
    principal = ctx.principal
    principal.require("courier")
    attested = request.key_attestation is not None or request.app_attest is not None
    if not attested:
        return await _enroll_bare_key(ctx, request)
    if request.public_key is not None or (
        request.key_attestation is not None and request.app_attest is not None
    ):
        raise InvalidInput(
            "send exactly one of keyAttestation (android), appAttest (ios) or publicKey",
            code="device.enrollment_shape",
        )
    expected = "android" if request.key_attestation is not None else "ios"
    if request.platform != expected:
        raise InvalidInput(
            f"{'keyAttestation' if expected == 'android' else 'appAttest'} is for platform {expected}",
            field="platform",
            code="device.enrollment_shape",
        )
    challenge = _decode_challenge(request.challenge)
    async with ctx.db.autocommit() as uow:
        await ctx.limiter.check(uow, "device.enroll", principal.sub, ctx.now)
        fresh = await uow.challenges.consume(
            challenge_hash=hashlib.sha256(challenge).digest(), courier_id=principal.sub, now=ctx.now
        )
    if not fresh:
        raise _challenge_invalid()
    # ~1.5 ms of CPU (bench/bench_attestation.py): cheaper than a hop to a thread and back.
    verdict = _verify(ctx, request, challenge)
    if not isinstance(verdict, EnrollmentAccepted):
        raise AttestationRefused(
            "the device attestation is not valid: " + "; ".join(r.code for r in verdict.reasons),
            reasons=[(reason.code, reason.detail) for reason in verdict.reasons],
        )
    key = verdict.key
    async with ctx.db.transaction() as uow:
        device = await uow.devices.enroll(
            courier_id=principal.sub,
            public_key=key.public_key_der,
            platform=key.platform,
            attestation_level=key.level,
            app_id=key.app_id,
            enrolled_at=ctx.now,
        )
    return _device_view(device)


def _verify(ctx: RequestContext, request: DeviceEnrollment, challenge: bytes) -> AttestationVerdict:
    if request.key_attestation is not None:
        chain = [_b64(text, f"keyAttestation[{i}]") for i, text in enumerate(request.key_attestation)]
        return ctx.attestation.verify_android(chain, challenge=challenge, now=ctx.now)
    assert request.app_attest is not None
    return ctx.attestation.verify_apple(
        _b64(request.app_attest.attestation, "appAttest.attestation"),
        key_id=_b64(request.app_attest.key_id, "appAttest.keyId"),
        challenge=challenge,
        now=ctx.now,
    )


async def _enroll_bare_key(ctx: RequestContext, request: DeviceEnrollment) -> DeviceView:
    principal = ctx.principal
    if request.public_key is None:
        raise InvalidInput(
            "send keyAttestation (android), appAttest (ios) or, with attestation off, publicKey",
            code="device.enrollment_shape",
        )
    if ctx.attestation.required:
        raise InvalidInput(
            "this server requires hardware attestation: enroll with keyAttestation (Android) or appAttest (iOS)",
            field="publicKey",
            code="device.attestation_required",
        )
    key = decode_public_key(request.public_key)
    async with ctx.db.transaction() as uow:
        await ctx.limiter.check(uow, "device.enroll", principal.sub, ctx.now)
        device = await uow.devices.enroll(
            courier_id=principal.sub,
            public_key=key,
            platform=request.platform,
            attestation_level="none",
            app_id=None,
            enrolled_at=ctx.now,
        )
    return _device_view(device)


def _decode_challenge(text: str | None) -> bytes:
    if text is None:
        raise _challenge_invalid("challenge is required with keyAttestation and appAttest")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _challenge_invalid("challenge is not base64") from None


def _challenge_invalid(
    detail: str = "unknown, used or expired challenge: ask POST /v1/courier/devices/challenges for a new one",
) -> InvalidInput:
    return InvalidInput(detail, field="challenge", code="device.challenge_invalid")


def _b64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        # Malformed input is a refusal naming the `format` rule, like a malformed certificate.
        raise AttestationRefused(
            f"{field} is not base64", reasons=[("format", f"{field} is not valid base64")]
        ) from None


def _attestation_view(device: DeviceRecord) -> DeviceAttestationView:
    return DeviceAttestationView(
        level=device.attestation_level,  # type: ignore[arg-type]  # the column's check constraint
        platform=device.platform,  # type: ignore[arg-type]
        app_id=device.app_id,
    )


def _device_view(device: DeviceRecord) -> DeviceView:
    return DeviceView(
        device_id=device.device_id,
        platform=device.platform,  # type: ignore[arg-type]
        enrolled_at=device.enrolled_at,
        attestation=_attestation_view(device),
    )


def _summary(device: DeviceRecord) -> DeviceSummary:
    return DeviceSummary(
        device_id=device.device_id,
        courier_id=device.courier_id,
        attestation=_attestation_view(device),
        enrolled_at=device.enrolled_at,
        assertion_counter=device.assertion_counter,
        revoked_at=device.revoked_at,
        revoked_by=device.revoked_by,
    )


async def courier_devices(ctx: RequestContext, courier_id: str) -> CourierDevices:
    """Every device a courier enrolled, revoked ones included (support and admins)."""
    ctx.principal.require("support", "admin")
    devices = await ctx.uow.devices.for_courier(courier_id)
    return CourierDevices(courier_id=courier_id, devices=[_summary(device) for device in devices])


async def revoke_device(ctx: RequestContext, device_id: uuid.UUID) -> DeviceSummary:
    """Revoke a device: its open sessions and pending uploads are refused from now on. Audited."""
    principal = ctx.principal
    principal.require("support", "admin")
    device = await ctx.uow.devices.revoke(device_id, at=ctx.now, by=f"{principal.role}:{principal.sub}")
    if device is None:
        raise NotFound("device")
    await ctx.uow.audit.record(
        actor_role=principal.role,
        actor_id=principal.sub,
        action="device.revoke",
        order_id=None,
        device_id=device_id,
        request_id=request_id_var.get(),
    )
    return _summary(device)
