"""Rate limits per courier, device and customer, counted in PostgreSQL (shared by all processes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from courier_api.errors import RateLimited
from infra.repositories import UnitOfWork


@dataclass(frozen=True, slots=True)
class Limit:
    hits: int
    window_s: int


# Generous for honest use (a courier retakes a photo a few times per door, opens sessions at route
# start), tight enough to stop a script. Keys are the buckets callers name.
DEFAULT_LIMITS: dict[str, Limit] = {
    "upload.courier": Limit(hits=120, window_s=600),
    "upload.device": Limit(hits=120, window_s=600),
    "session.courier": Limit(hits=300, window_s=3600),
    "claim": Limit(hits=5, window_s=3600),
    # A courier enrolls a phone after an install or a reset; a script trying keys or attestations does not
    # get far. Refused enrollments count too.
    "device.challenge": Limit(hits=30, window_s=3600),
    "device.enroll": Limit(hits=10, window_s=3600),
}


class RateLimiter:
    def __init__(self, limits: dict[str, Limit] | None = None) -> None:
        # Buckets a caller does not set keep their defaults (tests tighten only the ones they exercise).
        self._limits = {**DEFAULT_LIMITS, **(limits or {})}

    async def check(self, uow: UnitOfWork, bucket: str, subject: str, now: datetime) -> None:
        """Count this request; raise RateLimited (429 with Retry-After) when over the bucket's limit."""
        limit = self._limits[bucket]
        epoch = int(now.timestamp())
        window_start = epoch - epoch % limit.window_s
        hits = await uow.rate_limits.hit(
            bucket=bucket, subject=subject, window_start=datetime.fromtimestamp(window_start, UTC)
        )
        if hits > limit.hits:
            retry_after = max(1, window_start + limit.window_s - epoch)
            raise RateLimited(
                f"too many requests: at most {limit.hits} per {limit.window_s} s", retry_after_s=retry_after
            )
