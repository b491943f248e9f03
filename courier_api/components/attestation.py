"""Device attestation at enrollment: a port, so production can require Play Integrity or App Attest."""

from __future__ import annotations

from typing import Protocol


class AttestationRefused(Exception):
    """The platform's attestation did not vouch for this device and key."""


class DeviceAttestation(Protocol):
    async def verify(self, *, platform: str, public_key: bytes, attestation: str | None) -> None:
        """Raise AttestationRefused unless the platform vouches for an untampered app holding this key."""


class AcceptAnyDevice:
    """The default: accept the key as is (no attestation service configured)."""

    async def verify(self, *, platform: str, public_key: bytes, attestation: str | None) -> None:
        return None
