"""The real rollout timeline, as data, judged at moments along the way."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eligibility import ItemFacts, decide, rollout_timeline, validate_policy
from eligibility.rollout_examples import (
    FRESH_FOOD_DAY,
    MEDIUM_GOODS_DAY,
    MOSCOW_ONLY_DAY,
    ST_PETERSBURG_DAY,
    WHOLE_COUNTRY_DAY,
    rollout_start,
)
from tests.unit.eligibility.eligibility_builders import item, order

START = date(2025, 3, 3)
VERSIONS = rollout_timeline(START)
RUB = 100

TV_32_INCH = item("TV-32", category="tv", dimensions=(820, 130, 520), weight=6_500, price=20_000 * RUB)
MILK = item("MILK-1", category="dairy", attributes=("fresh",), price=120 * RUB)


def on(day: int, hours: int = 12) -> datetime:
    return rollout_start(START, day) + timedelta(hours=hours)


def worth(rubles: int) -> ItemFacts:
    return item("GOODS-1", price=rubles * RUB)


def test_timeline_is_valid_and_in_order() -> None:
    assert [v.version for v in VERSIONS] == [1, 2, 3, 4, 5]
    starts = [v.policy.effective_from for v in VERSIONS]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    for v in VERSIONS:
        assert validate_policy(v.policy) == [], v.version
        assert v.policy.note


def test_pilot_starts_at_midnight_moscow_time() -> None:
    assert VERSIONS[0].policy.effective_from == datetime(2025, 3, 2, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "goods", "city", "expected_codes", "expected_version"),
    [
        pytest.param(
            rollout_start(START, MOSCOW_ONLY_DAY) - timedelta(microseconds=1),
            worth(1_000),
            "MOW",
            ["no_policy"],
            None,
            id="before-pilot",
        ),
        pytest.param(
            rollout_start(START, MOSCOW_ONLY_DAY), worth(1_000), "MOW", [], 1, id="pilot-first-instant"
        ),
        pytest.param(on(10), worth(2_000), "MOW", [], 1, id="pilot-moscow-at-cap"),
        pytest.param(on(10), worth(2_001), "MOW", ["over_value_cap"], 1, id="pilot-moscow-over-cap"),
        pytest.param(on(10), worth(1_000), "SPB", ["city_not_in_rollout"], 1, id="pilot-spb-not-yet"),
        pytest.param(on(ST_PETERSBURG_DAY), worth(1_000), "SPB", [], 2, id="spb-joins"),
        pytest.param(on(ST_PETERSBURG_DAY), worth(2_001), "SPB", ["over_value_cap"], 2, id="spb-same-cap"),
        pytest.param(
            on(ST_PETERSBURG_DAY), worth(1_000), "KZN", ["city_not_in_rollout"], 2, id="kzn-not-yet"
        ),
        pytest.param(on(WHOLE_COUNTRY_DAY), worth(25_000), "KZN", [], 3, id="country-kzn-25k"),
        pytest.param(on(WHOLE_COUNTRY_DAY), worth(30_000), "KZN", [], 3, id="country-kzn-at-cap"),
        pytest.param(
            on(WHOLE_COUNTRY_DAY), worth(30_001), "KZN", ["over_value_cap"], 3, id="country-over-cap"
        ),
        # The pilot cities are covered by `*` from the country step: their cap rises too.
        pytest.param(on(WHOLE_COUNTRY_DAY), worth(25_000), "MOW", [], 3, id="country-moscow-25k"),
        pytest.param(
            on(WHOLE_COUNTRY_DAY), MILK, "MOW", ["excluded_attribute"], 3, id="country-fresh-excluded"
        ),
        pytest.param(on(FRESH_FOOD_DAY), MILK, "MOW", [], 4, id="fresh-allowed-moscow"),
        pytest.param(on(FRESH_FOOD_DAY), MILK, "SPB", [], 4, id="fresh-allowed-spb"),
        pytest.param(
            on(FRESH_FOOD_DAY), MILK, "KZN", ["excluded_attribute"], 4, id="fresh-still-excluded-kzn"
        ),
        pytest.param(on(FRESH_FOOD_DAY), TV_32_INCH, "KZN", ["item_too_large"], 4, id="tv-too-large"),
        pytest.param(on(MEDIUM_GOODS_DAY), TV_32_INCH, "KZN", [], 5, id="tv-allowed"),
        pytest.param(on(MEDIUM_GOODS_DAY), worth(45_000), "KZN", [], 5, id="raised-cap"),
        pytest.param(on(MEDIUM_GOODS_DAY), MILK, "MOW", [], 5, id="fresh-override-carried-over"),
        pytest.param(on(MEDIUM_GOODS_DAY), MILK, "KZN", ["excluded_attribute"], 5, id="fresh-kzn-still-out"),
        pytest.param(
            on(MEDIUM_GOODS_DAY),
            item("SOFA-1", category="furniture", attributes=("bulky",), dimensions=(800, 500, 400)),
            "MOW",
            ["excluded_attribute"],
            5,
            id="bulky-still-out",
        ),
    ],
)
def test_rollout_moment(
    at: datetime, goods: ItemFacts, city: str, expected_codes: list[str], expected_version: int | None
) -> None:
    decision = decide(order(goods, city=city), VERSIONS, at)

    assert [reason.code for reason in decision.reasons] == expected_codes
    assert decision.policy_version == expected_version


def test_timeline_follows_its_start_date() -> None:
    later = rollout_timeline(START + timedelta(days=7))

    assert [v.policy.effective_from - timedelta(days=7) for v in later] == [
        v.policy.effective_from for v in VERSIONS
    ]
