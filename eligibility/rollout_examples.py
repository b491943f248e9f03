"""The real door-drop rollout written as successive policy versions, for demo seeding and tests.

Each step is a complete document (versions are immutable, never patched):

1. day 0: pilot, Moscow only, orders up to 2,000 RUB;
2. day 30: St Petersburg joins, same cap;
3. day 51 (three weeks on): the whole country at 30,000 RUB. The pilot cities get their own
   entries dropped, so `*` covers them too and their cap rises with everyone else's;
4. day 81: fresh food allowed in Moscow and St Petersburg, where same-day couriers keep it cold
   (per-city override of the excluded attributes; elsewhere fresh food stays excluded);
5. day 112: medium-size goods, small TVs and appliances (bigger box, heavier items) and a
   50,000 RUB cap everywhere; the fresh-food override carries over.

Versions start at 00:00 Moscow time of their day and are stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final

from eligibility.policy import ANY_CITY, CityRule, Policy, PolicyVersion

MOSCOW_TIME: Final = timezone(timedelta(hours=3), "MSK")  # no DST since 2014

DEFAULT_MAX_ITEM_DIMENSIONS_MM: Final = (600, 400, 400)
DEFAULT_MAX_ITEM_WEIGHT_G: Final = 10_000
DEFAULT_MAX_ORDER_WEIGHT_G: Final = 15_000
DEFAULT_EXCLUDED_CATEGORIES: Final = ("e_cigarettes", "gift_certificates", "alcohol", "medicines")
DEFAULT_EXCLUDED_ATTRIBUTES: Final = ("passport_check", "digital", "fresh", "bulky")
ATTRIBUTES_EXCLUDED_WITH_FRESH_ALLOWED: Final = ("passport_check", "digital", "bulky")

PILOT_CAP_KOPECKS: Final = 200_000
COUNTRY_CAP_KOPECKS: Final = 3_000_000
RAISED_CAP_KOPECKS: Final = 5_000_000

# Room for a 32" TV in its carton, a microwave or a kettle; furniture stays `bulky`.
MEDIUM_MAX_ITEM_DIMENSIONS_MM: Final = (900, 600, 500)
MEDIUM_MAX_ITEM_WEIGHT_G: Final = 15_000
MEDIUM_MAX_ORDER_WEIGHT_G: Final = 25_000

MOSCOW_ONLY_DAY: Final = 0
ST_PETERSBURG_DAY: Final = 30
WHOLE_COUNTRY_DAY: Final = 51
FRESH_FOOD_DAY: Final = 81
MEDIUM_GOODS_DAY: Final = 112


def rollout_start(start: date, day: int) -> datetime:
    """00:00 Moscow time on `start + day` days, in UTC."""
    return datetime.combine(start + timedelta(days=day), time(0), tzinfo=MOSCOW_TIME).astimezone(UTC)


def rollout_timeline(start: date) -> tuple[PolicyVersion, ...]:
    """The rollout as versions 1..5, the pilot starting on `start` (Moscow time)."""

    def policy(day: int, note: str, cities: dict[str, CityRule], *, medium_goods: bool = False) -> Policy:
        medium = medium_goods
        return Policy(
            effective_from=rollout_start(start, day),
            note=note,
            cities=cities,
            max_item_dimensions_mm=(
                MEDIUM_MAX_ITEM_DIMENSIONS_MM if medium else DEFAULT_MAX_ITEM_DIMENSIONS_MM
            ),
            max_item_weight_g=MEDIUM_MAX_ITEM_WEIGHT_G if medium else DEFAULT_MAX_ITEM_WEIGHT_G,
            max_order_weight_g=MEDIUM_MAX_ORDER_WEIGHT_G if medium else DEFAULT_MAX_ORDER_WEIGHT_G,
            excluded_categories=DEFAULT_EXCLUDED_CATEGORIES,
            excluded_attributes=DEFAULT_EXCLUDED_ATTRIBUTES,
        )

    def fresh_allowed(cap_kopecks: int) -> CityRule:
        return CityRule(cap_kopecks=cap_kopecks, excluded_attributes=ATTRIBUTES_EXCLUDED_WITH_FRESH_ALLOWED)

    return (
        PolicyVersion(
            version=1,
            policy=policy(
                MOSCOW_ONLY_DAY,
                "Pilot: Moscow only, orders up to 2,000 RUB.",
                {"MOW": CityRule(cap_kopecks=PILOT_CAP_KOPECKS)},
            ),
        ),
        PolicyVersion(
            version=2,
            policy=policy(
                ST_PETERSBURG_DAY,
                "St Petersburg joins the pilot, same 2,000 RUB cap.",
                {
                    "MOW": CityRule(cap_kopecks=PILOT_CAP_KOPECKS),
                    "SPB": CityRule(cap_kopecks=PILOT_CAP_KOPECKS),
                },
            ),
        ),
        PolicyVersion(
            version=3,
            policy=policy(
                WHOLE_COUNTRY_DAY,
                "Whole country, orders up to 30,000 RUB; Moscow and St Petersburg included.",
                {ANY_CITY: CityRule(cap_kopecks=COUNTRY_CAP_KOPECKS)},
            ),
        ),
        PolicyVersion(
            version=4,
            policy=policy(
                FRESH_FOOD_DAY,
                "Fresh food may be left at the door in Moscow and St Petersburg.",
                {
                    ANY_CITY: CityRule(cap_kopecks=COUNTRY_CAP_KOPECKS),
                    "MOW": fresh_allowed(COUNTRY_CAP_KOPECKS),
                    "SPB": fresh_allowed(COUNTRY_CAP_KOPECKS),
                },
            ),
        ),
        PolicyVersion(
            version=5,
            policy=policy(
                MEDIUM_GOODS_DAY,
                "Medium-size goods, small TVs and appliances; cap raised to 50,000 RUB.",
                {
                    ANY_CITY: CityRule(cap_kopecks=RAISED_CAP_KOPECKS),
                    "MOW": fresh_allowed(RAISED_CAP_KOPECKS),
                    "SPB": fresh_allowed(RAISED_CAP_KOPECKS),
                },
                medium_goods=True,
            ),
        ),
    )
