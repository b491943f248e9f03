"""The policy versions, decoded once per process and re-read only when a new version appears.

Versions are immutable, so memoising them is safe. The latest version number is asked of the
database on every decision (by `versions`, or by the caller in the same statement as its other
reads, then given to `versions_at`), so a version published by any process is seen at once.
"""

from __future__ import annotations

import msgspec

from eligibility import Policy, PolicyVersion
from infra.repositories import UnitOfWork


class PolicyCatalog:
    def __init__(self) -> None:
        self._latest = -1
        self._versions: tuple[PolicyVersion, ...] = ()

    async def versions(self, uow: UnitOfWork) -> tuple[PolicyVersion, ...]:
        return await self.versions_at(uow, await uow.policies.latest_version())

    def known(self, latest: int) -> tuple[PolicyVersion, ...] | None:
        """The memoised versions if `latest` (just read from the database) is the one they end at."""
        return self._versions if latest == self._latest else None

    async def versions_at(self, uow: UnitOfWork, latest: int) -> tuple[PolicyVersion, ...]:
        """Every version up to at least `latest`, the latest version number the caller just read."""
        known = self.known(latest)
        if known is not None:
            return known
        stored = await uow.policies.all()
        versions = tuple(
            PolicyVersion(version=row.version, policy=msgspec.convert(row.document, Policy)) for row in stored
        )
        # A version published between the caller's read and ours is included: newer is never wrong.
        self._versions = versions
        self._latest = max((v.version for v in versions), default=0)
        return versions
