"""Policy documents: validation, the JSON wire form, picking the version in force, city merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from eligibility import (
    CityRule,
    EffectiveLimits,
    Policy,
    PolicyVersion,
    policy_in_force,
    resolve_city,
    validate_policy,
)
from tests.unit.eligibility.eligibility_builders import CAP, POLICY_START, policy, version

POLICY_DOCUMENT = b"""{
  "effectiveFrom": "2025-03-01T00:00:00+03:00",
  "note": "Moscow pilot",
  "cities": {
    "MOW": {"capKopecks": 200000},
    "*": {"capKopecks": 3000000, "maxItemWeightG": 5000, "excludedAttributes": ["digital"]}
  },
  "maxItemDimensionsMm": [600, 400, 400],
  "maxItemWeightG": 10000,
  "maxOrderWeightG": 15000,
  "excludedCategories": ["alcohol", "e_cigarettes"],
  "excludedAttributes": ["passport_check", "digital", "fresh", "bulky"]
}"""


def test_camel_case_document_decodes_to_the_domain_structs() -> None:
    decoded = msgspec.json.decode(POLICY_DOCUMENT, type=Policy)

    assert decoded.effective_from == datetime(2025, 2, 28, 21, 0, tzinfo=UTC)
    assert decoded.cities["MOW"] == CityRule(cap_kopecks=200_000)
    assert decoded.cities["*"] == CityRule(
        cap_kopecks=3_000_000, max_item_weight_g=5_000, excluded_attributes=("digital",)
    )
    assert decoded.max_item_dimensions_mm == (600, 400, 400)
    assert validate_policy(decoded) == []


def test_document_round_trips_through_json() -> None:
    decoded = msgspec.json.decode(POLICY_DOCUMENT, type=Policy)

    encoded = msgspec.json.encode(decoded)

    assert msgspec.json.decode(encoded, type=Policy) == decoded
    # Inherited limits are left out rather than written as null.
    assert msgspec.json.decode(encoded)["cities"]["MOW"] == {"capKopecks": 200_000}


def test_policy_version_round_trips_through_json() -> None:
    stored = version(number=7)

    assert msgspec.json.decode(msgspec.json.encode(stored), type=PolicyVersion) == stored


@pytest.mark.parametrize(
    ("replace", "needle"),
    [
        pytest.param(
            ("2025-03-01T00:00:00+03:00", "2025-03-01T00:00:00"), "timezone", id="naive-effective-from"
        ),
        pytest.param(('"MOW": {', '"mow": {'), "cities", id="lower-case-city"),
        pytest.param(('"capKopecks": 200000', '"capKopecks": 0'), "capKopecks", id="zero-cap"),
        pytest.param(('"capKopecks": 200000', '"capKopecks": -5'), "capKopecks", id="negative-cap"),
        pytest.param(('"capKopecks": 200000', '"capKopeks": 200000'), "capKopeks", id="misspelt-field"),
        pytest.param(("[600, 400, 400]", "[600, 400]"), "maxItemDimensionsMm", id="two-sides"),
        pytest.param(("[600, 400, 400]", "[600, 0, 400]"), "maxItemDimensionsMm", id="zero-side"),
        pytest.param(
            ('"maxItemWeightG": 5000', '"maxItemWeightG": -1'), "maxItemWeightG", id="negative-override"
        ),
        pytest.param(
            ('["alcohol", "e_cigarettes"]', '["alcohol", ""]'), "excludedCategories", id="empty-name"
        ),
    ],
)
def test_bad_document_is_rejected_on_decode(replace: tuple[str, str], needle: str) -> None:
    old, new = replace
    assert old.encode() in POLICY_DOCUMENT
    document = POLICY_DOCUMENT.replace(old.encode(), new.encode())

    with pytest.raises(msgspec.ValidationError, match=needle):
        msgspec.json.decode(document, type=Policy)


def test_document_without_cities_is_rejected_on_decode() -> None:
    document = msgspec.json.decode(POLICY_DOCUMENT)
    document["cities"] = {}

    with pytest.raises(msgspec.ValidationError, match="cities"):
        msgspec.json.decode(msgspec.json.encode(document), type=Policy)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param(policy(effective_from=datetime(2025, 1, 1)), "effectiveFrom", id="naive-effective-from"),  # noqa: DTZ001
        pytest.param(policy(cities={}), "cities", id="no-city"),
        pytest.param(policy(cities={"mow": CityRule(cap_kopecks=CAP)}), "cities.mow", id="lower-case-code"),
        pytest.param(
            policy(cities={"MOSC": CityRule(cap_kopecks=CAP)}), "cities.MOSC", id="four-letter-code"
        ),
        pytest.param(policy(cities={"**": CityRule(cap_kopecks=CAP)}), "cities.**", id="double-star"),
        pytest.param(policy(cities={"MOW": CityRule(cap_kopecks=0)}), "cities.MOW.capKopecks", id="zero-cap"),
        pytest.param(
            policy(cities={"MOW": CityRule(cap_kopecks=-1)}), "cities.MOW.capKopecks", id="negative-cap"
        ),
        pytest.param(
            policy(cities={"MOW": CityRule(cap_kopecks=CAP, max_item_dimensions_mm=(10, -1, 10))}),
            "cities.MOW.maxItemDimensionsMm[1]",
            id="negative-override-side",
        ),
        pytest.param(
            policy(cities={"MOW": CityRule(cap_kopecks=CAP, max_item_weight_g=0)}),
            "cities.MOW.maxItemWeightG",
            id="zero-override-item-weight",
        ),
        pytest.param(
            policy(cities={"MOW": CityRule(cap_kopecks=CAP, max_order_weight_g=-10)}),
            "cities.MOW.maxOrderWeightG",
            id="negative-override-order-weight",
        ),
        pytest.param(
            policy(cities={"MOW": CityRule(cap_kopecks=CAP, excluded_attributes=("",))}),
            "cities.MOW.excludedAttributes[0]",
            id="empty-override-attribute",
        ),
        pytest.param(policy(box=(600, 400, 0)), "maxItemDimensionsMm[2]", id="zero-side"),
        pytest.param(policy(max_item_g=0), "maxItemWeightG", id="zero-item-weight"),
        pytest.param(policy(max_order_g=-1), "maxOrderWeightG", id="negative-order-weight"),
        pytest.param(
            policy(excluded_categories=("alcohol", "")), "excludedCategories[1]", id="empty-category"
        ),
        pytest.param(policy(excluded_attributes=("",)), "excludedAttributes[0]", id="empty-attribute"),
    ],
)
def test_validate_policy_names_the_bad_field(bad: Policy, field: str) -> None:
    problems = validate_policy(bad)

    assert [problem.field for problem in problems] == [field]
    assert all(problem.message for problem in problems)


def test_validate_policy_reports_every_problem() -> None:
    bad = policy(cities={"mow": CityRule(cap_kopecks=0)}, max_item_g=0, max_order_g=0)

    fields = {problem.field for problem in validate_policy(bad)}

    assert fields == {"cities.mow", "cities.mow.capKopecks", "maxItemWeightG", "maxOrderWeightG"}


def test_validate_policy_accepts_a_good_policy() -> None:
    assert (
        validate_policy(policy(cities={"MOW": CityRule(cap_kopecks=CAP), "*": CityRule(cap_kopecks=1)})) == []
    )


def at_day(day: int) -> datetime:
    return POLICY_START + timedelta(days=day)


def numbered(number: int, day: int) -> PolicyVersion:
    return version(policy(effective_from=at_day(day)), number=number)


@pytest.mark.parametrize(
    ("versions", "at", "expected"),
    [
        pytest.param([], at_day(0), None, id="no-versions"),
        pytest.param([numbered(1, 10)], at_day(10) - timedelta(microseconds=1), None, id="just-before-first"),
        pytest.param([numbered(1, 10)], at_day(10), 1, id="exactly-at-start"),
        pytest.param([numbered(1, 0), numbered(2, 10)], at_day(9), 1, id="earlier-still-in-force"),
        pytest.param([numbered(1, 0), numbered(2, 10)], at_day(10), 2, id="later-takes-over"),
        pytest.param([numbered(2, 10), numbered(1, 0)], at_day(20), 2, id="list-order-irrelevant"),
        pytest.param([numbered(1, 10), numbered(2, 0)], at_day(20), 1, id="latest-start-wins-not-number"),
        pytest.param([numbered(3, 10), numbered(4, 10)], at_day(10), 4, id="tie-higher-version-wins"),
        pytest.param([numbered(4, 10), numbered(3, 10)], at_day(10), 4, id="tie-regardless-of-order"),
        pytest.param([numbered(1, 0), numbered(2, 30)], at_day(20), 1, id="future-version-ignored"),
    ],
)
def test_policy_in_force(versions: list[PolicyVersion], at: datetime, expected: int | None) -> None:
    in_force = policy_in_force(versions, at)

    assert (None if in_force is None else in_force.version) == expected


def test_policy_in_force_compares_instants_not_wall_clocks() -> None:
    moscow_midnight = datetime(2025, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=3)))
    versions = [version(policy(effective_from=moscow_midnight))]

    assert policy_in_force(versions, datetime(2025, 2, 28, 21, 0, tzinfo=UTC)) is not None
    assert policy_in_force(versions, datetime(2025, 2, 28, 20, 59, tzinfo=UTC)) is None


def test_policy_in_force_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="timezone"):
        policy_in_force([version()], datetime(2025, 6, 1))  # noqa: DTZ001


RULES = policy(
    cities={
        "MOW": CityRule(cap_kopecks=100, max_item_weight_g=1, excluded_categories=("books",)),
        "*": CityRule(cap_kopecks=200, max_item_dimensions_mm=(1, 2, 3), excluded_attributes=()),
    },
    box=(600, 400, 400),
    max_item_g=10_000,
    max_order_g=15_000,
    excluded_categories=("alcohol",),
    excluded_attributes=("fresh",),
)


@pytest.mark.parametrize(
    ("city", "expected"),
    [
        pytest.param(
            "MOW",
            EffectiveLimits(
                cap_kopecks=100,
                max_item_dimensions_mm=(600, 400, 400),
                max_item_weight_g=1,
                max_order_weight_g=15_000,
                excluded_categories=("books",),
                excluded_attributes=("fresh",),
            ),
            id="own-entry-over-defaults",
        ),
        pytest.param(
            "KZN",
            EffectiveLimits(
                cap_kopecks=200,
                max_item_dimensions_mm=(1, 2, 3),
                max_item_weight_g=10_000,
                max_order_weight_g=15_000,
                excluded_categories=("alcohol",),
                excluded_attributes=(),
            ),
            id="star-entry-empty-tuple-overrides",
        ),
    ],
)
def test_resolve_city_merges_the_rule_over_the_defaults(city: str, expected: EffectiveLimits) -> None:
    assert resolve_city(RULES, city) == expected


def test_resolve_city_without_coverage_is_none() -> None:
    assert resolve_city(policy(cities={"MOW": CityRule(cap_kopecks=CAP)}), "SPB") is None
