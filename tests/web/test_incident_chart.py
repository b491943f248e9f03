"""The incident chart's geometry, without a server: scale, one line per city, gaps where a week had no drops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from courier_api.schemas.claims import IncidentReport, IncidentRow
from courier_api.web.chart import BOTTOM, HEIGHT, TOP, incident_chart, nice_ceiling

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def week(city: str, index: int, drops: int, claims: int) -> IncidentRow:
    return IncidentRow(
        advisories=0,
        city=city,
        week_start=MONDAY + timedelta(weeks=index),
        door_drops=drops,
        rejected_attempts=0,
        claims=claims,
        compensations=0,
        compensated_kopecks=0,
        claims_per_1000_drops=round(1000 * claims / drops, 2) if drops else None,
    )


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (0.3, 0.5), (1, 1), (7.5, 10), (12, 20), (250, 500), (1000, 1000)]
)
def test_the_scale_ends_on_a_round_number(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_one_line_per_city_broken_where_a_week_had_no_drops() -> None:
    rows = [week("MOW", 0, 200, 2), week("MOW", 1, 0, 0), week("MOW", 2, 100, 5), week("SPB", 1, 50, 1)]
    chart = incident_chart(
        IncidentReport(start=MONDAY, end=MONDAY + timedelta(weeks=3), weeks=rows, cities=[])
    )
    assert [s.city for s in chart.series] == ["MOW", "SPB"]
    mow, spb = chart.series
    assert len(mow.segments) == 2  # week 1 had no drops: no rate, no point, a gap
    assert [p.label.split(":")[0] for p in mow.points] == [
        "MOW, week of 2026-11-02",
        "MOW, week of 2026-11-16",
    ]
    assert len(spb.points) == 1
    # 50 per 1,000 is the highest rate: the top of a 0..50 scale; SPB's 20 per 1,000 sits at two fifths of it.
    assert mow.points[1].y == TOP
    assert spb.points[0].y == pytest.approx(TOP + (HEIGHT - TOP - BOTTOM) * 0.6, abs=0.1)
    assert chart.y_ticks[-1].label == "50"


def test_an_empty_range_draws_no_series() -> None:
    chart = incident_chart(IncidentReport(start=MONDAY, end=MONDAY + timedelta(weeks=1), weeks=[], cities=[]))
    assert chart.series == []
    assert chart.x_ticks == []
