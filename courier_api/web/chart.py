"""The incident chart's geometry: claims per 1,000 door drops per week, one line per city.

Pure arithmetic on the report; the template draws it as inline SVG with presentation attributes only
(no style attributes, so the page's CSP needs no 'unsafe-inline').
"""

from __future__ import annotations

import math
from datetime import datetime

import msgspec

from courier_api.schemas.claims import IncidentReport

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44
# Colour-blind-safe (Okabe-Ito); cities past the eighth reuse them in order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")


class Point(msgspec.Struct, frozen=True, kw_only=True):
    x: float
    y: float
    label: str


class Series(msgspec.Struct, frozen=True, kw_only=True):
    city: str
    color: str
    # Weeks without drops have no rate: the line breaks there instead of pretending zero.
    segments: list[str]
    points: list[Point]


class Tick(msgspec.Struct, frozen=True, kw_only=True):
    at: float
    label: str


class Chart(msgspec.Struct, frozen=True, kw_only=True):
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above value (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def incident_chart(report: IncidentReport) -> Chart:
    weeks: list[datetime] = sorted({row.week_start for row in report.weeks})
    rates = [row.claims_per_1000_drops for row in report.weeks if row.claims_per_1000_drops is not None]
    top_value = nice_ceiling(max(rates, default=0.0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(index: int) -> float:
        return LEFT + (inner_w / 2 if len(weeks) == 1 else inner_w * index / (len(weeks) - 1))

    def y_of(value: float) -> float:
        return TOP + inner_h * (1 - value / top_value)

    column = {week: index for index, week in enumerate(weeks)}
    series: list[Series] = []
    for number, city in enumerate(sorted({row.city for row in report.weeks})):
        by_week = {row.week_start: row for row in report.weeks if row.city == city}
        segments: list[str] = []
        points: list[Point] = []
        current: list[str] = []
        for week in weeks:
            row = by_week.get(week)
            rate = row.claims_per_1000_drops if row is not None else None
            if row is None or rate is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = round(x_of(column[week]), 1), round(y_of(rate), 1)
            current.append(f"{x},{y}")
            points.append(
                Point(
                    x=x,
                    y=y,
                    label=f"{city}, week of {week:%Y-%m-%d}: {rate:g} claims per 1,000 drops "
                    f"({row.claims} of {row.door_drops})",
                )
            )
        if current:
            segments.append(" ".join(current))
        series.append(
            Series(city=city, color=PALETTE[number % len(PALETTE)], segments=segments, points=points)
        )
    step = max(1, math.ceil(len(weeks) / 8))
    x_ticks = [
        Tick(at=round(x_of(i), 1), label=f"{week:%d.%m}") for i, week in enumerate(weeks) if i % step == 0
    ]
    y_ticks = [Tick(at=round(y_of(top_value * i / 4), 1), label=f"{top_value * i / 4:g}") for i in range(5)]
    return Chart(series=series, x_ticks=x_ticks, y_ticks=y_ticks)
