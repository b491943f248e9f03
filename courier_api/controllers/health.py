"""Liveness and readiness."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get

from courier_api.dependencies import Services


class Health(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    database: bool | None = None
    storage: bool | None = None


class HealthController(Controller):
    tags = ["health"]  # noqa: RUF012 - litestar reads class attributes
    security = []  # noqa: RUF012

    @get("/health", sync_to_thread=False)
    def health(self) -> Health:
        """The process is alive and serving."""
        return Health(status="ok")

    @get("/ready")
    async def ready(self, services: Services) -> Response[Health]:
        """The database and the bucket are reachable (503 otherwise)."""
        database, storage = await asyncio.gather(services.db.ping(), services.store.reachable())
        ok = database and storage
        return Response(
            Health(status="ok" if ok else "unavailable", database=database, storage=storage),
            status_code=200 if ok else 503,
        )
