"""The policy versions, decoded once per process and re-read only when a new version appears.

Versions are immutable, so memoising them is safe; the latest version number is asked of the
database on every call, so a version published by any process is seen at once.
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
        latest = await uow.policies.latest_version()
        if latest != self._latest:
            stored = await uow.policies.all()
            self._versions = tuple(
                PolicyVersion(version=row.version, policy=msgspec.convert(row.document, Policy))
                for row in stored
            )
            self._latest = latest
        return self._versions
