"""The capture protocol on the wire: devices, capture sessions and photo attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from infra.documents import WireStruct

Platform = Literal["android", "ios"]
AttestationLevel = Literal["strongbox", "tee", "app_attest", "none"]
# A keystore chain is 3 to 5 certificates of 0.5-2 KB; App Attest's CBOR is ~5 KB with its receipt.
Base64Certificate = Annotated[str, msgspec.Meta(min_length=1, max_length=16_384)]


class DeviceChallenge(WireStruct):
    """32 random bytes (base64) for KeyGenParameterSpec.setAttestationChallenge or attestKey's clientDataHash."""

    challenge: str
    expires_at: datetime


class AppAttest(WireStruct):
    # base64 of the keyId DCAppAttestService.generateKey returned (the SHA-256 of the key's public point)
    key_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    # base64 of the attestation object attestKey returned (CBOR)
    attestation: Annotated[str, msgspec.Meta(min_length=1, max_length=65_536)]


class DeviceEnrollment(WireStruct):
    """One of: `keyAttestation` (Android), `appAttest` (iOS), `publicKey` (only when DEVICE_ATTESTATION=off)."""

    platform: Platform
    # from POST /v1/courier/devices/challenges; required with keyAttestation and appAttest
    challenge: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    # Android Key Attestation: base64 DER certificates from KeyStore.getCertificateChain, leaf first
    key_attestation: Annotated[list[Base64Certificate], msgspec.Meta(max_length=10)] | None = None
    app_attest: AppAttest | None = None
    # base64 of the 32 raw bytes of an Ed25519 public key (unattested; refused when attestation is required).
    # The exact form is documented, not enforced at decode: the use case answers 422 `device.bad_key`.
    public_key: (
        Annotated[
            str,
            msgspec.Meta(
                min_length=1, max_length=64, extra_json_schema={"pattern": r"\A[A-Za-z0-9+/]{43}=\Z"}
            ),
        ]
        | None
    ) = None


class DeviceAttestationView(WireStruct):
    level: AttestationLevel
    platform: Platform
    # the Android package or the Apple app id (TEAMID.bundle.id) the attestation named; none for `none`
    app_id: str | None = None


class DeviceView(WireStruct):
    device_id: uuid.UUID
    platform: Platform
    enrolled_at: datetime
    attestation: DeviceAttestationView


class DeviceSummary(WireStruct):
    """A courier's device as support sees it."""

    device_id: uuid.UUID
    courier_id: str
    attestation: DeviceAttestationView
    enrolled_at: datetime
    # App Attest: the last assertion counter accepted
    assertion_counter: int = 0
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class CourierDevices(WireStruct):
    courier_id: str
    devices: list[DeviceSummary]


class CaptureSessionRequest(WireStruct):
    device_id: uuid.UUID


class CaptureRequirements(WireStruct):
    """What the in-app camera must write and respect; the app shows it as the camera overlay."""

    exif_image_unique_id: str
    label_code: str
    barcode_formats: list[str]
    label_min_share: float
    label_max_share: float
    gps_radius_m: float
    max_bytes: int
    capture_not_before: datetime
    capture_not_after: datetime
    # How this session's device signs each photo (it depends on the device's attestation level).
    signature: str = "Ed25519 over the 32-byte SHA-256 digest of the exact JPEG bytes, base64"


class CaptureSessionView(WireStruct):
    session_id: uuid.UUID
    nonce: str
    expires_at: datetime
    requirements: CaptureRequirements


CheckSeverity = Literal["blocking", "advisory"]


# Not a WireStruct: `severity` is always on the wire, even at its default (omit_defaults would drop it).
class CheckView(msgspec.Struct, rename="camel", kw_only=True):
    code: str
    passed: bool
    detail: str
    # A failed `blocking` check rejects the photo; a failed `advisory` one (door.unfamiliar) never does.
    # Replies stored before severities existed had only blocking checks.
    severity: CheckSeverity = "blocking"


class SupportCheckView(CheckView):
    """A check as support sees it: with the other orders it links this photo to (reuse.duplicate)."""

    related_orders: list[str] = msgspec.field(default_factory=list)


class DeliveryState(WireStruct):
    status: str


class PhotoAttemptView(WireStruct):
    photo_id: uuid.UUID
    verdict: Literal["accepted", "rejected"]
    checks: list[CheckView]
    delivery: DeliveryState
