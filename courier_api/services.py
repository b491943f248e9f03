"""What the app holds while it runs: built in the lifespan, never at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from courier_api.auth import TokenService
from courier_api.use_cases.attestation import AcceptAnyDevice, DeviceAttestation
from courier_api.use_cases.capture import PhotoIntake
from courier_api.use_cases.policy_catalog import PolicyCatalog
from courier_api.use_cases.rate_limits import RateLimiter
from infra.database import Database
from infra.settings import Settings
from infra.storage import ObjectStore


@dataclass(slots=True)
class AppServices:
    settings: Settings
    db: Database
    store: ObjectStore
    tokens: TokenService
    intake: PhotoIntake
    attestation: DeviceAttestation = field(default_factory=AcceptAnyDevice)
    limits: RateLimiter = field(default_factory=RateLimiter)
    catalog: PolicyCatalog = field(default_factory=PolicyCatalog)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.clock()
