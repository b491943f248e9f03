from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.device_attestation.attestation_builders import AttestationPki, make_pki

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> AttestationPki:
    return make_pki(NOW)
