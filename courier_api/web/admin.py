"""The admin's rollout-health page: incidents per city and week as a chart and a table."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import QueryParameter

from courier_api.dependencies import Services
from courier_api.errors import InvalidInput
from courier_api.web import page_content
from courier_api.web.base import PageController, sign_in, signed, viewer
from courier_api.web.chart import incident_chart
from courier_api.web.customer import LinkToken
from courier_api.web.rendering import page

DEFAULT_WEEKS = 12


def moment(value: str, name: str) -> datetime:
    """A date (midnight UTC, what <input type=date> sends) or an ISO datetime with a timezone."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"`{name}` must be a date such as 2026-11-01", field=name) from exc
    if parsed.tzinfo is None:
        raise InvalidInput(f"`{name}` must carry a timezone, e.g. 2026-11-01T00:00:00Z", field=name)
    return parsed


class AdminPages(PageController):
    path = "/admin"

    @get("/incidents")
    async def incidents(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        start: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        end: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
        token: LinkToken = None,
    ) -> Response[str]:
        """Claims per 1,000 door drops per week, one line per city, and the numbers behind it."""
        if token is not None:
            return sign_in(request, services, token)
        today = datetime.combine(services.now().date(), time(), tzinfo=UTC)
        until = moment(end, "to") if end else today + timedelta(days=1)
        since = moment(start, "from") if start else until - timedelta(weeks=DEFAULT_WEEKS)
        view = await services.run(viewer(request), page_content.incidents_page, since, until)
        return page(
            "admin_incidents.html",
            report=view.report,
            chart=incident_chart(view.report),
            since=since.date().isoformat(),
            until=until.date().isoformat(),
            session=signed(request, services, view.viewer),
        )
