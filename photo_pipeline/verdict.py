"""The outcome of verifying a delivery photo."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["CHECK_CODES", "CaptureMetadata", "Check", "Verdict"]

# Every check `verify` reports, in the order it reports them. The courier app maps each code
# to a retake hint.
CHECK_CODES: tuple[str, ...] = (
    "provenance.nonce",
    "provenance.capture_time",
    "provenance.edited",
    "location.gps",
    "label.found",
    "label.matches_order",
    "label.too_small",
    "label.too_large",
    "quality.blur",
    "quality.exposure",
)


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One named check; `detail` says what was measured, for logs and support."""

    code: str
    passed: bool
    detail: str


class CaptureMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """What the photo says about its capture.

    captured_at is timezone-aware UTC, and None unless both DateTimeOriginal and
    OffsetTimeOriginal are present and valid (a wall-clock time without its offset is not an
    instant). width/height are those of the image as displayed, after EXIF orientation.
    distance_m is from the delivery address, None without a valid GPS fix.
    """

    captured_at: datetime | None
    lat: float | None
    lon: float | None
    distance_m: float | None
    orientation: int
    make: str | None
    model: str | None
    software: str | None
    image_unique_id: str | None
    width: int
    height: int


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """Every check, the capture facts, the hashes and the derivative shown to the customer."""

    checks: tuple[Check, ...]
    capture: CaptureMetadata
    sha256: str
    perceptual_hash: int
    detail_hash: bytes  # 256-bit 16x16 difference hash, confirms coarse-hash duplicate candidates
    label_share: float | None
    decoded_label: str | None
    customer_copy: bytes
    # The doorstep fingerprint (`photo_pipeline.doorstep`): compare with `compare_doorsteps`.
    doorstep: bytes = b""

    @property
    def accepted(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed_codes(self) -> frozenset[str]:
        """Codes of the checks that failed."""
        return frozenset(check.code for check in self.checks if not check.passed)

    def check(self, code: str) -> Check:
        """The check with this code."""
        for item in self.checks:
            if item.code == code:
                return item
        raise KeyError(code)
