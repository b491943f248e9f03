"""Policy versions and bars as each decision needs them, read from PostgreSQL as little as is safe.

Versions are immutable, so memoising their decoded form is always safe. Two modes:
- With a live change feed (`infra.change_feed`), the versions and the set of barred customers
  stay in memory and are reloaded when a change is announced: a decision then costs no round
  trip. Another process's change is seen within the notification delay (a moment after its
  commit); this process's own changes are seen at once (`invalidate` after its commit).
- Without one (not started, or its connection lost), the latest version number and the
  customer's bar are read in one statement on every decision, so any change is seen at once.
"""

from __future__ import annotations

import msgspec

from eligibility import Policy, PolicyVersion
from infra.change_feed import ChangeFeed
from infra.database import Database
from infra.repositories import UnitOfWork


class PolicyCatalog:
    def __init__(self, feed: ChangeFeed | None = None) -> None:
        self._feed = feed
        self._latest = -1
        self._versions: tuple[PolicyVersion, ...] = ()
        self._barred: frozenset[str] = frozenset()
        self._loaded_generation = -1

    def invalidate(self) -> None:
        """This process changed policies or bars: reload before the next decision."""
        self._loaded_generation = -1
        self._latest = -1

    async def versions(self, uow: UnitOfWork) -> tuple[PolicyVersion, ...]:
        if self._feed_is_live():
            return (await self._from_memory(uow))[0]
        return await self._versions_at(uow, await uow.policies.latest_version())

    async def versions_and_bar(
        self, uow: UnitOfWork, customer_id: str
    ) -> tuple[tuple[PolicyVersion, ...], bool]:
        """The versions to decide with and whether this customer is barred."""
        if self._feed_is_live():
            versions, barred = await self._from_memory(uow)
            return versions, customer_id in barred
        # One statement reads the latest version number and the bar: one round trip, no transaction.
        latest, is_barred = await uow.policies.latest_version_and_bar(customer_id)
        return await self._versions_at(uow, latest), is_barred

    async def versions_and_bar_from(
        self, db: Database, customer_id: str
    ) -> tuple[tuple[PolicyVersion, ...], bool]:
        """`versions_and_bar` for callers outside a transaction: no connection at all when memory is current."""
        if self._feed is not None and self._feed.live and self._feed.generation == self._loaded_generation:
            return self._versions, customer_id in self._barred
        async with db.read() as uow:
            return await self.versions_and_bar(uow, customer_id)

    async def versions_and_bar_now(
        self, uow: UnitOfWork, customer_id: str
    ) -> tuple[tuple[PolicyVersion, ...], bool]:
        """Like `versions_and_bar`, but the version number and the bar are read in the caller's
        transaction even when memory is current: for the decision that commits a door drop, which
        must not act on a bar or a policy another process published a moment ago."""
        latest, is_barred = await uow.policies.latest_version_and_bar(customer_id)
        return await self._versions_at(uow, latest), is_barred

    def _feed_is_live(self) -> bool:
        return self._feed is not None and self._feed.live

    async def _from_memory(self, uow: UnitOfWork) -> tuple[tuple[PolicyVersion, ...], frozenset[str]]:
        assert self._feed is not None
        # Read the generation first: a change announced while we reload bumps it again, so the
        # next decision reloads once more instead of keeping what we read before that change.
        generation = self._feed.generation
        if generation != self._loaded_generation:
            await self._reload_versions(uow)
            self._barred = await uow.bars.all_barred()
            self._loaded_generation = generation
        return self._versions, self._barred

    async def _versions_at(self, uow: UnitOfWork, latest: int) -> tuple[PolicyVersion, ...]:
        if latest != self._latest:
            await self._reload_versions(uow)
        return self._versions

    async def _reload_versions(self, uow: UnitOfWork) -> None:
        stored = await uow.policies.all()
        self._versions = tuple(
            PolicyVersion(version=row.version, policy=msgspec.convert(row.document, Policy)) for row in stored
        )
        # A version published between the caller's read and ours is included: newer is never wrong.
        self._latest = max((v.version for v in self._versions), default=0)
