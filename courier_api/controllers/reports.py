"""Admin reports: rollout health per city, and the evidence audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from courier_api.dependencies import Caller, Services
from courier_api.errors import InvalidInput
from courier_api.params import MAX_ROW_ID
from courier_api.schemas.claims import AuditEntry, IncidentReport
from courier_api.use_cases import evidence, incidents
from infra.documents import ID_PATTERN


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"`{name}` must carry a timezone, e.g. 2026-11-01T00:00:00Z", field=name)
    return value


class ReportsController(Controller):
    path = "/v1/admin"
    tags = ["admin"]  # noqa: RUF012

    @get("/incidents")
    async def incidents(
        self,
        principal: Caller,
        services: Services,
        start: Annotated[datetime, QueryParameter(name="from")],
        end: Annotated[datetime, QueryParameter(name="to")],
    ) -> IncidentReport:
        """Per city and week: door drops, rejected attempts, claims, compensations, claims per 1,000 drops."""
        return await services.run(
            principal, incidents.incident_report, _aware(start, "from"), _aware(end, "to")
        )

    @get("/audit")
    async def audit(
        self,
        principal: Caller,
        services: Services,
        order_id: Annotated[str | None, QueryParameter(name="orderId", pattern=ID_PATTERN)] = None,
        actor_id: Annotated[str | None, QueryParameter(name="actorId", max_length=128)] = None,
        before_id: Annotated[int | None, QueryParameter(name="beforeId", ge=1, le=MAX_ROW_ID)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[AuditEntry]:
        """Who viewed which evidence and when, newest first; page with beforeId."""
        return await services.run(
            principal,
            evidence.audit_log,
            order_id=order_id,
            actor_id=actor_id,
            before_id=before_id,
            limit=limit,
        )
