"""Repositories: all SQL lives here. Explicit columns, $n parameters, rows converted to structs."""

from __future__ import annotations

from functools import cached_property

from infra.repositories.bars import BarRepository
from infra.repositories.capture import (
    AttemptRepository,
    ChallengeRepository,
    DeviceRepository,
    IdempotencyRepository,
    SessionRepository,
)
from infra.repositories.claims import AuditRepository, ClaimRepository
from infra.repositories.connection import Connection
from infra.repositories.housekeeping import HousekeepingRepository
from infra.repositories.object_intents import ObjectIntentRepository
from infra.repositories.orders import OrderRepository
from infra.repositories.outbox import OutboxRepository
from infra.repositories.policies import DecisionRepository, PolicyRepository
from infra.repositories.rate_limits import RateLimitRepository
from infra.repositories.web_sessions import WebSessionRepository


class UnitOfWork:
    """The repositories bound to one transaction. Never commits: the caller's block does."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self._conn)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self._conn)

    @cached_property
    def policies(self) -> PolicyRepository:
        return PolicyRepository(self._conn)

    @cached_property
    def bars(self) -> BarRepository:
        return BarRepository(self._conn)

    @cached_property
    def decisions(self) -> DecisionRepository:
        return DecisionRepository(self._conn)

    @cached_property
    def devices(self) -> DeviceRepository:
        return DeviceRepository(self._conn)

    @cached_property
    def challenges(self) -> ChallengeRepository:
        return ChallengeRepository(self._conn)

    @cached_property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self._conn)

    @cached_property
    def attempts(self) -> AttemptRepository:
        return AttemptRepository(self._conn)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self._conn)

    @cached_property
    def claims(self) -> ClaimRepository:
        return ClaimRepository(self._conn)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self._conn)

    @cached_property
    def rate_limits(self) -> RateLimitRepository:
        return RateLimitRepository(self._conn)

    @cached_property
    def web_sessions(self) -> WebSessionRepository:
        return WebSessionRepository(self._conn)

    @cached_property
    def housekeeping(self) -> HousekeepingRepository:
        return HousekeepingRepository(self._conn)

    @cached_property
    def object_intents(self) -> ObjectIntentRepository:
        return ObjectIntentRepository(self._conn)
