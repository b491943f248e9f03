"""The capture protocol on the wire: devices, capture sessions and photo attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from infra.documents import WireStruct

Platform = Literal["android", "ios"]


class DeviceEnrollment(WireStruct):
    # base64 of the 32 raw bytes of an Ed25519 public key. The exact form is documented, not enforced at
    # decode: the use case checks it and answers 422 `device.bad_key`, the code the courier app maps.
    public_key: Annotated[
        str,
        msgspec.Meta(
            min_length=40,
            max_length=64,
            extra_json_schema={"pattern": r"\A[A-Za-z0-9+/]{43}=\Z"},
        ),
    ]
    platform: Platform
    # Play Integrity / App Attest token, checked when the deployment requires attestation.
    attestation: Annotated[str, msgspec.Meta(max_length=16_384)] | None = None


class DeviceView(WireStruct):
    device_id: uuid.UUID
    platform: Platform
    enrolled_at: datetime


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
    signature: str = "Ed25519 over the 32-byte SHA-256 digest of the exact JPEG bytes, base64"


class CaptureSessionView(WireStruct):
    session_id: uuid.UUID
    nonce: str
    expires_at: datetime
    requirements: CaptureRequirements


class CheckView(WireStruct):
    code: str
    passed: bool
    detail: str


class DeliveryState(WireStruct):
    status: str


class PhotoAttemptView(WireStruct):
    photo_id: uuid.UUID
    verdict: Literal["accepted", "rejected"]
    checks: list[CheckView]
    delivery: DeliveryState
