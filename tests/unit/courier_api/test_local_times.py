"""Times where people live: the order's city zone on pages and in notices, with the zone's abbreviation."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from courier_api.formats import local_time
from courier_api.notifications.texts import render
from eligibility.city_time_zones import CITY_TIME_ZONES, DEFAULT_TIME_ZONE, city_time_zone

NOON_UTC = datetime(2026, 11, 29, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("city", "expected"),
    [
        ("MOW", "2026-11-29 15:05 MSK"),
        ("SPB", "2026-11-29 15:05 MSK"),
        ("KGD", "2026-11-29 14:05 EET"),
        ("EKB", "2026-11-29 17:05 UTC+5"),
        ("VVO", "2026-11-29 22:05 UTC+10"),
        ("XYZ", "2026-11-29 15:05 MSK"),  # a city not in the table: Moscow time
    ],
)
def test_a_moment_reads_as_the_citys_clock(city: str, expected: str) -> None:
    assert local_time(NOON_UTC, city_time_zone(city)) == expected


def test_every_zone_in_the_table_is_a_real_iana_zone() -> None:
    for zone in {*CITY_TIME_ZONES.values(), DEFAULT_TIME_ZONE}:
        assert ZoneInfo(zone).utcoffset(NOON_UTC) is not None


def test_utc_stays_utc() -> None:
    assert local_time(NOON_UTC, "UTC") == "2026-11-29 12:05 UTC"


def test_the_door_drop_notice_says_when_in_the_customers_zone() -> None:
    payload = {"orderId": "A-1", "leftAt": NOON_UTC.isoformat()}
    ru = render("door_drop.completed", payload, "ru", "https://dd.example", time_zone="Europe/Moscow")
    en = render("door_drop.completed", payload, "en", "https://dd.example", time_zone="Asia/Yekaterinburg")
    assert "у двери в 2026-11-29 15:05 MSK" in ru.body
    assert "at your door at 2026-11-29 17:05 UTC+5" in en.body
    assert "12:05" not in ru.body  # never the UTC clock


def test_a_notice_without_a_time_says_none() -> None:
    text = render(
        "door_drop.completed", {"orderId": "A-1"}, "en", "https://dd.example", time_zone="Europe/Moscow"
    )
    assert "at your door and took a photo" in text.body
