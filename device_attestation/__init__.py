"""Hardware device attestation, verified: bytes + configuration + time -> verdict.

Android Key Attestation and Apple App Attest prove that a photo-signing key lives in a phone's secure hardware
and belongs to our app; the per-photo checks prove a photo was signed by that key. Pure: no I/O besides reading
the package's own root keys, no asyncio, no clock (the verification time is an argument), nothing of ours.
A malformed input is a refusal naming the `format` rule, never an exception.
"""

from device_attestation.anchors import (
    android_trust_anchors,
    apple_app_attestation_roots,
    apple_trust_anchors,
    google_hardware_roots,
)
from device_attestation.android import (
    AndroidPolicy,
    verify_android_attestation,
    verify_android_photo_signature,
)
from device_attestation.apple import ApplePolicy, verify_app_attest_assertion, verify_app_attest_attestation
from device_attestation.certificates import TrustAnchors
from device_attestation.results import (
    AttestationLevel,
    AttestationVerdict,
    AttestedKey,
    EnrollmentAccepted,
    EnrollmentRefused,
    EnrollmentRule,
    PhotoRefused,
    PhotoRule,
    PhotoSignatureAccepted,
    PhotoSignatureVerdict,
    Platform,
    Reason,
)
from device_attestation.revocation import RevocationList

__all__ = [
    "AndroidPolicy",
    "ApplePolicy",
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
    "RevocationList",
    "TrustAnchors",
    "android_trust_anchors",
    "apple_app_attestation_roots",
    "apple_trust_anchors",
    "google_hardware_roots",
    "verify_android_attestation",
    "verify_android_photo_signature",
    "verify_app_attest_assertion",
    "verify_app_attest_attestation",
]
