"""One request's context, built once per request (JSON API or page) and handed to the one use case it calls.

The handler parses, `AppServices.run` builds this context (one `now`, the principal, the unit of work),
the use case does the work, and effects that must follow the commit (policy-cache invalidation) run after
it. Rate limits and those effects live in the use cases, so the JSON API and the pages cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from courier_api.auth import Principal
from courier_api.components.attestation import DeviceVerifier
from courier_api.components.policy_catalog import PolicyCatalog
from courier_api.components.rate_limits import RateLimiter
from infra.database import Database
from infra.repositories import UnitOfWork
from infra.settings import Settings
from infra.storage import ObjectStore
from photo_pipeline import PhotoLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """What use cases read from the settings, derived once at start-up in the units they use."""

    photo_url_ttl_s: int
    claim_window: timedelta
    capture_session_ttl: timedelta
    capture_upload_grace: timedelta
    capture_clock_skew: timedelta
    upload_body_timeout_s: float
    photo: PhotoLimits

    @classmethod
    def from_settings(cls, settings: Settings) -> Config:
        return cls(
            photo_url_ttl_s=settings.photo_url_ttl_s,
            claim_window=timedelta(days=settings.claim_window_days),
            capture_session_ttl=timedelta(seconds=settings.capture_session_ttl_s),
            capture_upload_grace=timedelta(seconds=settings.capture_upload_grace_s),
            capture_clock_skew=timedelta(seconds=settings.capture_clock_skew_s),
            upload_body_timeout_s=settings.upload_body_timeout_s,
            photo=PhotoLimits(
                max_bytes=settings.max_photo_bytes,
                max_pixels=settings.max_photo_pixels,
                clock_skew_s=settings.capture_clock_skew_s,
                gps_radius_m=settings.gps_radius_m,
                label_min_share=settings.label_min_share,
                label_max_share=settings.label_max_share,
            ),
        )


class AfterCommit:
    """Effects collected during a use case and run only once its transaction committed."""

    __slots__ = ("_effects",)

    def __init__(self) -> None:
        self._effects: list[Callable[[], None]] = []

    def add(self, effect: Callable[[], None]) -> None:
        if effect not in self._effects:
            self._effects.append(effect)

    def run(self) -> None:
        effects, self._effects = self._effects, []
        for effect in effects:
            effect()


@dataclass(slots=True, kw_only=True)
class RequestContext:
    """Everything one use case may touch for one request."""

    principal: Principal
    now: datetime
    config: Config
    db: Database
    store: ObjectStore
    transaction: UnitOfWork | None = None
    limiter: RateLimiter = field(default_factory=RateLimiter)
    catalog: PolicyCatalog = field(default_factory=PolicyCatalog)
    attestation: DeviceVerifier = field(default_factory=DeviceVerifier.accepting_bare_keys)
    after_commit: AfterCommit = field(default_factory=AfterCommit)

    @property
    def uow(self) -> UnitOfWork:
        """The request's unit of work; only use cases run with `AppServices.run` have one."""
        if self.transaction is None:
            raise RuntimeError("this use case runs outside a transaction: open one from ctx.db")
        return self.transaction

    async def count(self, bucket: str, subject: str) -> None:
        """Count this request against a rate-limit bucket (RateLimited when over it), in the request's
        transaction: a request that fails rolls its hit back with everything else."""
        await self.limiter.check(self.uow, bucket, subject, self.now)

    def policies_changed(self) -> None:
        """Policies or bars changed: this process decides with the change from the next request on."""
        self.after_commit.add(self.catalog.invalidate)
