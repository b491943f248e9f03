"""What the app holds while it runs (built in the lifespan, never at import time), and how a request runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

from courier_api.auth import Principal, TokenService
from courier_api.components.attestation import DeviceVerifier
from courier_api.components.policy_catalog import PolicyCatalog
from courier_api.components.rate_limits import RateLimiter
from courier_api.context import Config, RequestContext
from courier_api.use_cases.capture import PhotoIntake
from infra.database import Database
from infra.repositories import UnitOfWork
from infra.settings import Settings
from infra.storage import ObjectStore

P = ParamSpec("P")
T = TypeVar("T")
# Who the request is: a bearer token's principal, or one read in the request's own transaction
# (a page's session row, so a revoked session is refused by the transaction that would act on it).
PrincipalSource = Principal | Callable[[UnitOfWork, datetime], Awaitable[Principal]]
UseCase = Callable[Concatenate[RequestContext, P], Awaitable[T]]


@dataclass(slots=True)
class AppServices:
    settings: Settings
    db: Database
    store: ObjectStore
    tokens: TokenService
    intake: PhotoIntake
    attestation: DeviceVerifier = field(default_factory=DeviceVerifier.accepting_bare_keys)
    limits: RateLimiter = field(default_factory=RateLimiter)
    catalog: PolicyCatalog = field(default_factory=PolicyCatalog)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    config: Config = field(init=False)

    def __post_init__(self) -> None:
        self.config = Config.from_settings(self.settings)

    def now(self) -> datetime:
        return self.clock()

    def context(self, principal: Principal, now: datetime, uow: UnitOfWork | None = None) -> RequestContext:
        return RequestContext(
            principal=principal,
            now=now,
            config=self.config,
            db=self.db,
            store=self.store,
            transaction=uow,
            limiter=self.limits,
            catalog=self.catalog,
            attestation=self.attestation,
        )

    async def run(
        self, who: PrincipalSource, use_case: UseCase[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run one use case in the request's transaction; its after-commit effects run once it committed."""
        now = self.now()
        async with self.db.transaction() as uow:
            principal = who if isinstance(who, Principal) else await who(uow, now)
            ctx = self.context(principal, now, uow)
            result = await use_case(ctx, *args, **kwargs)
        ctx.after_commit.run()
        return result

    async def run_without_transaction(
        self, principal: Principal, use_case: UseCase[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a use case that opens its own connections (or none: a check served from memory)."""
        ctx = self.context(principal, self.now())
        result = await use_case(ctx, *args, **kwargs)
        ctx.after_commit.run()
        return result
