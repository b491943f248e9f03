"""What the deployment trusts for device attestation, built once per process from the settings.

The verification itself is the pure core `device_attestation/`; this component reads the files the settings
name (extra roots, Google's status list) at start-up, failing fast with the variable's name, and holds the
resulting policies and anchors for the enrollment use case.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from device_attestation import (
    AndroidPolicy,
    ApplePolicy,
    AttestationVerdict,
    EnrollmentRefused,
    Reason,
    RevocationList,
    TrustAnchors,
    android_trust_anchors,
    apple_trust_anchors,
    verify_android_attestation,
    verify_app_attest_attestation,
)
from infra.errors import ConfigError
from infra.settings import Settings, require_attestation_configured


class DeviceVerifier:
    """Verifies enrollments against the configured apps, roots and status list."""

    def __init__(
        self,
        *,
        required: bool,
        android: AndroidPolicy | None,
        apple: ApplePolicy | None,
        android_anchors: TrustAnchors,
        apple_anchors: TrustAnchors,
        revocations: RevocationList,
    ) -> None:
        self.required = required
        self._android = android
        self._apple = apple
        self._android_anchors = android_anchors
        self._apple_anchors = apple_anchors
        self._revocations = revocations

    @classmethod
    def from_settings(cls, settings: Settings) -> DeviceVerifier:
        """Read the configured files; ConfigError names the variable whose file is missing or unreadable."""
        require_attestation_configured(settings)
        android_roots = _read("ANDROID_ATTESTATION_ROOTS", settings.android_attestation_roots)
        apple_roots = _read("APPLE_ATTESTATION_ROOTS", settings.apple_attestation_roots)
        try:
            android_anchors = android_trust_anchors(android_roots)
        except ValueError as exc:
            raise ConfigError("ANDROID_ATTESTATION_ROOTS", f"not a PEM file of certificates: {exc}") from None
        try:
            apple_anchors = apple_trust_anchors(apple_roots)
        except ValueError as exc:
            raise ConfigError("APPLE_ATTESTATION_ROOTS", f"not a PEM file of certificates: {exc}") from None
        revocations = RevocationList()
        status = _read("ANDROID_ATTESTATION_STATUS_FILE", settings.android_attestation_status_file)
        if settings.android_attestation_status_file is not None:
            try:
                revocations = RevocationList.from_status_json(json.loads(status))
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                raise ConfigError("ANDROID_ATTESTATION_STATUS_FILE", str(exc)) from None
        android = None
        if settings.android_app_packages:
            android = AndroidPolicy(
                app_packages=frozenset(settings.android_app_packages),
                signing_cert_sha256=settings.signing_cert_digests,
                min_security_level=settings.android_min_security_level,
                allow_unverified_boot=settings.android_allow_unverified_boot,
            )
        apple = None
        if settings.apple_app_ids:
            apple = ApplePolicy(
                app_ids=frozenset(settings.apple_app_ids), environment=settings.apple_app_attest_environment
            )
        return cls(
            required=settings.device_attestation == "required",
            android=android,
            apple=apple,
            android_anchors=android_anchors,
            apple_anchors=apple_anchors,
            revocations=revocations,
        )

    @classmethod
    def accepting_bare_keys(cls) -> DeviceVerifier:
        """DEVICE_ATTESTATION=off with no app configured: bare keys only (contexts built outside the app)."""
        return cls(
            required=False,
            android=None,
            apple=None,
            android_anchors=android_trust_anchors(),
            apple_anchors=apple_trust_anchors(),
            revocations=RevocationList(),
        )

    def verify_android(
        self, chain_der: list[bytes], *, challenge: bytes, now: datetime
    ) -> AttestationVerdict:
        if self._android is None:
            return _unconfigured("no Android app is configured (ANDROID_APP_PACKAGES)")
        return verify_android_attestation(
            chain_der,
            challenge=challenge,
            policy=self._android,
            anchors=self._android_anchors,
            revocations=self._revocations,
            now=now,
        )

    def verify_apple(
        self, attestation: bytes, *, key_id: bytes, challenge: bytes, now: datetime
    ) -> AttestationVerdict:
        if self._apple is None:
            return _unconfigured("no iOS app is configured (APPLE_APP_IDS)")
        return verify_app_attest_attestation(
            attestation,
            key_id=key_id,
            challenge=challenge,
            policy=self._apple,
            anchors=self._apple_anchors,
            now=now,
        )


def _unconfigured(detail: str) -> EnrollmentRefused:
    return EnrollmentRefused(reasons=(Reason(code="app", detail=detail),))


def _read(variable: str, path: str | None) -> bytes:
    if path is None:
        return b""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(variable, f"cannot read {path}: {exc.strerror}") from None
