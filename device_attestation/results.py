"""What the verifiers answer: an attested key, or every rule that failed."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "AttestationLevel",
    "AttestationVerdict",
    "AttestedKey",
    "EnrollmentAccepted",
    "EnrollmentRefused",
    "EnrollmentRule",
    "PhotoRefused",
    "PhotoRule",
    "PhotoSignatureAccepted",
    "PhotoSignatureVerdict",
    "Platform",
    "Reason",
]

# The stable codes of issue 13: the API reports them as `reasons: [{code, detail}]`.
EnrollmentRule = Literal[
    "chain", "revoked", "challenge", "app", "security_level", "boot_state", "key", "format"
]
# Per photo; the API folds every one of them into `provenance.signature`.
PhotoRule = Literal["format", "signature", "counter", "app"]

AttestationLevel = Literal["strongbox", "tee", "app_attest"]
Platform = Literal["android", "ios"]


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """One failed rule; `detail` is for support and logs, never for the courier's screen."""

    code: EnrollmentRule | PhotoRule
    detail: str


class AttestedKey(msgspec.Struct, frozen=True, kw_only=True):
    """A signing key proven to live in the phone's secure hardware and to belong to our app."""

    level: AttestationLevel
    platform: Platform
    # The Android package or the Apple app id (TEAMID.bundle.id) that matched the configuration.
    app_id: str
    # SubjectPublicKeyInfo DER of the EC P-256 key that signs the photos.
    public_key_der: bytes
    # App Attest only: SHA-256 of the public key point, the id the app refers to the key by.
    key_id: bytes = b""


class EnrollmentAccepted(msgspec.Struct, frozen=True, kw_only=True, tag="accepted"):
    key: AttestedKey


class EnrollmentRefused(msgspec.Struct, frozen=True, kw_only=True, tag="refused"):
    # Never empty: every failed rule, in the order the checks ran.
    reasons: tuple[Reason, ...]


AttestationVerdict = EnrollmentAccepted | EnrollmentRefused


class PhotoSignatureAccepted(msgspec.Struct, frozen=True, kw_only=True, tag="accepted"):
    # App Attest: the assertion's counter, to be stored as the device's last accepted one; Android: 0.
    counter: int = 0


class PhotoRefused(msgspec.Struct, frozen=True, kw_only=True, tag="refused"):
    reasons: tuple[Reason, ...]


PhotoSignatureVerdict = PhotoSignatureAccepted | PhotoRefused
