"""Courier devices: the Ed25519 keys that sign in-app photos."""

from __future__ import annotations

import base64
import binascii

from courier_api.components.attestation import AttestationRefused
from courier_api.context import RequestContext
from courier_api.errors import InvalidInput
from courier_api.schemas.capture import DeviceEnrollment, DeviceView

ED25519_KEY_BYTES = 32


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


async def enroll(ctx: RequestContext, request: DeviceEnrollment) -> DeviceView:
    """Register a courier's device key, after the platform vouches for it when that is required."""
    principal = ctx.principal
    principal.require("courier")
    key = decode_public_key(request.public_key)
    try:
        await ctx.attestation.verify(
            platform=request.platform, public_key=key, attestation=request.attestation
        )
    except AttestationRefused as exc:
        raise InvalidInput(
            str(exc) or "attestation refused", field="attestation", code="device.attestation_refused"
        ) from exc
    device = await ctx.uow.devices.enroll(courier_id=principal.sub, public_key=key, platform=request.platform)
    return DeviceView(device_id=device.device_id, platform=request.platform, enrolled_at=device.enrolled_at)
