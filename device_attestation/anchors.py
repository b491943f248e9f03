"""The roots each platform's attestations must lead to: the shipped ones plus the caller's extra PEM bytes."""

from __future__ import annotations

from functools import cache
from importlib import resources

from device_attestation.certificates import TrustAnchors, public_keys_from_pem

__all__ = [
    "android_trust_anchors",
    "apple_app_attestation_roots",
    "apple_trust_anchors",
    "google_hardware_roots",
]


@cache
def _shipped(name: str) -> tuple[bytes, ...]:
    # The package's own data, read once: no configuration or outside world is involved.
    return public_keys_from_pem(resources.files(__package__).joinpath("roots", name).read_bytes())


def google_hardware_roots() -> tuple[bytes, ...]:
    """SubjectPublicKeyInfo DER of Google's hardware attestation roots (RSA-4096 and ECDSA P-384)."""
    return _shipped("google_hardware_attestation.pem")


def apple_app_attestation_roots() -> tuple[bytes, ...]:
    """SubjectPublicKeyInfo DER of the Apple App Attestation Root CA."""
    return _shipped("apple_app_attestation_root_ca.pem")


def android_trust_anchors(extra_roots_pem: bytes = b"") -> TrustAnchors:
    """Google's roots plus `extra_roots_pem` (ANDROID_ATTESTATION_ROOTS); ValueError on an unreadable PEM."""
    return TrustAnchors.of(google_hardware_roots(), public_keys_from_pem(extra_roots_pem))


def apple_trust_anchors(extra_roots_pem: bytes = b"") -> TrustAnchors:
    """Apple's App Attest root plus `extra_roots_pem` (APPLE_ATTESTATION_ROOTS); ValueError on an unreadable PEM."""
    return TrustAnchors.of(apple_app_attestation_roots(), public_keys_from_pem(extra_roots_pem))
