"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation

from courier_api.dependencies import Services


class Health(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    database: bool | None = None
    storage: bool | None = None


@dataclass
class _PublicOperation(Operation):
    """No token needed: `security: []` overrides the document's global bearer requirement.

    (Litestar omits an empty list, so the operation would otherwise inherit that requirement.)
    """

    def __post_init__(self) -> None:
        self.security = []


class HealthController(Controller):
    tags = ["health"]  # noqa: RUF012 - litestar reads class attributes
    security = []  # noqa: RUF012

    @get("/health", sync_to_thread=False, operation_class=_PublicOperation)
    def health(self) -> Health:
        """The process is alive and serving."""
        return Health(status="ok")

    @get(
        "/ready",
        operation_class=_PublicOperation,
        responses={503: ResponseSpec(Health, description="The database or the bucket is unreachable")},
    )
    async def ready(self, services: Services) -> Response[Health]:
        """The database and the bucket are reachable (503 otherwise)."""
        database, storage = await asyncio.gather(services.db.ping(), services.store.reachable())
        ok = database and storage
        return Response(
            Health(status="ok" if ok else "unavailable", database=database, storage=storage),
            status_code=200 if ok else 503,
        )
