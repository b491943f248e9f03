"""Rollout health: how often door drops go wrong, per city and week."""

from __future__ import annotations

from datetime import datetime

from courier_api.context import RequestContext
from courier_api.errors import InvalidInput
from courier_api.schemas.claims import CityTotals, CourierAdvisoryRow, IncidentReport, IncidentRow
from courier_api.schemas.records import view_of

_MAX_DAYS = 370
_MAX_COURIERS = 100


def per_thousand(count: int, drops: int) -> float | None:
    return round(1000 * count / drops, 2) if drops else None


async def incident_report(ctx: RequestContext, start: datetime, end: datetime) -> IncidentReport:
    """Door drops, rejected attempts, claims, compensations and advisories per city and week (rates per 1,000
    drops), and the couriers whose attempts carry advisory findings."""
    ctx.principal.require("admin")
    if end <= start:
        raise InvalidInput("`to` must be after `from`", field="to", code="incidents.bad_range")
    if (end - start).days > _MAX_DAYS:
        raise InvalidInput(
            f"the range may span at most {_MAX_DAYS} days", field="to", code="incidents.bad_range"
        )
    weekly = await ctx.uow.claims.weekly_incidents(start, end)
    rows = [
        view_of(IncidentRow, w, claims_per_1000_drops=per_thousand(w.claims, w.door_drops)) for w in weekly
    ]
    totals: dict[str, list[int]] = {}
    for w in weekly:
        sums = totals.setdefault(w.city, [0, 0, 0, 0, 0, 0])
        for index, value in enumerate(
            (
                w.door_drops,
                w.rejected_attempts,
                w.claims,
                w.compensations,
                w.compensated_kopecks,
                w.advisories,
            )
        ):
            sums[index] += value
    cities = [
        CityTotals(
            city=city,
            door_drops=drops,
            rejected_attempts=rejected,
            claims=claims,
            compensations=compensations,
            compensated_kopecks=amount,
            claims_per_1000_drops=per_thousand(claims, drops),
            compensations_per_1000_drops=per_thousand(compensations, drops),
            advisories=advisories,
        )
        for city, (drops, rejected, claims, compensations, amount, advisories) in sorted(totals.items())
    ]
    couriers = [
        view_of(CourierAdvisoryRow, c)
        for c in await ctx.uow.claims.advisories_per_courier(start, end, limit=_MAX_COURIERS)
    ]
    return IncidentReport(start=start, end=end, weeks=rows, cities=cities, couriers=couriers)
