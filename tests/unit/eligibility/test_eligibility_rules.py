"""Each door-drop rule on its own (passing and failing), its boundaries, and all of them at once."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec
import pytest

from eligibility import (
    CityRule,
    Decision,
    OrderFacts,
    PolicyVersion,
    Reason,
    ReasonCode,
    evaluate,
    order_value_kopecks,
)
from tests.unit.eligibility.eligibility_builders import (
    AT,
    BOX,
    CAP,
    MAX_ITEM_G,
    MAX_ORDER_G,
    item,
    order,
    policy,
    version,
)

STAR_POLICY = version(policy(cities={"*": CityRule(cap_kopecks=CAP)}))


def codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


@pytest.mark.parametrize(
    ("facts", "rules", "expected"),
    [
        pytest.param(order(), version(), [], id="plain-order-eligible"),
        # delivery method
        pytest.param(
            order(delivery_method="pickup_point"), version(), ["not_courier_delivery"], id="pickup-point"
        ),
        # payment
        pytest.param(order(payment="cash_on_delivery"), version(), ["not_prepaid"], id="cash-on-delivery"),
        pytest.param(order(payment="card_on_delivery"), version(), ["not_prepaid"], id="card-on-delivery"),
        # city
        pytest.param(order(city="KZN"), version(), ["city_not_in_rollout"], id="city-not-in-rollout"),
        pytest.param(order(city="KZN"), STAR_POLICY, [], id="star-covers-other-city"),
        pytest.param(order(city="mow"), version(), ["city_not_in_rollout"], id="city-codes-are-exact"),
        # value cap: equal is allowed, one kopeck more is not; quantity counts
        pytest.param(order(item(price=CAP)), version(), [], id="value-equal-to-cap"),
        pytest.param(order(item(price=CAP + 1)), version(), ["over_value_cap"], id="value-cap-plus-one"),
        pytest.param(
            order(item(price=CAP // 2, quantity=2)), version(), [], id="value-times-quantity-at-cap"
        ),
        pytest.param(
            order(item("A", price=CAP // 2), item("B", price=CAP // 2 + 1)),
            version(),
            ["over_value_cap"],
            id="value-summed-over-lines",
        ),
        # exclusions
        pytest.param(
            order(item(category="alcohol")), version(), ["excluded_category"], id="excluded-category"
        ),
        pytest.param(order(item(category="toys")), version(), [], id="allowed-category"),
        pytest.param(
            order(item(attributes=("fresh",))), version(), ["excluded_attribute"], id="excluded-attr"
        ),
        pytest.param(order(item(attributes=("fragile",))), version(), [], id="allowed-attribute"),
        pytest.param(
            order(item(attributes=("digital", "fragile", "passport_check"))),
            version(),
            ["excluded_attribute", "excluded_attribute"],
            id="each-excluded-attribute-reported",
        ),
        # size: any orientation of the box counts
        pytest.param(order(item(dimensions=BOX)), version(), [], id="exactly-the-box"),
        pytest.param(order(item(dimensions=(400, 600, 400))), version(), [], id="exactly-the-box-rotated"),
        pytest.param(order(item(dimensions=(400, 400, 600))), version(), [], id="exactly-the-box-on-end"),
        pytest.param(
            order(item(dimensions=(601, 400, 400))), version(), ["item_too_large"], id="longest-side-over"
        ),
        pytest.param(
            order(item(dimensions=(401, 401, 10))), version(), ["item_too_large"], id="two-sides-over-400"
        ),
        pytest.param(order(item(dimensions=(590, 10, 390))), version(), [], id="flat-item-fits-lying-down"),
        # weights: equal is allowed
        pytest.param(order(item(weight=MAX_ITEM_G)), version(), [], id="item-weight-at-limit"),
        pytest.param(
            order(item(weight=MAX_ITEM_G + 1)), version(), ["item_too_heavy"], id="item-weight-over"
        ),
        pytest.param(
            order(item(weight=MAX_ORDER_G // 3, quantity=3, price=1)),
            version(),
            [],
            id="order-weight-at-limit",
        ),
        pytest.param(
            order(
                item("A", weight=MAX_ORDER_G // 2, price=1), item("B", weight=MAX_ORDER_G // 2 + 1, price=1)
            ),
            version(),
            ["order_too_heavy"],
            id="order-weight-over",
        ),
        pytest.param(
            order(item(weight=6_000, quantity=3, price=1)),
            version(),
            ["order_too_heavy"],
            id="weight-times-quantity",
        ),
        # customer
        pytest.param(order(customer_barred=True), version(), ["customer_barred"], id="customer-barred"),
        # no policy: the order-intrinsic rules are still reported
        pytest.param(order(), None, ["no_policy"], id="no-policy"),
        pytest.param(
            order(item(category="alcohol"), payment="cash_on_delivery", customer_barred=True),
            None,
            ["not_prepaid", "customer_barred", "no_policy"],
            id="no-policy-with-intrinsic-failures",
        ),
    ],
)
def test_rule(facts: OrderFacts, rules: PolicyVersion | None, expected: list[str]) -> None:
    decision = evaluate(facts, rules, AT)

    assert codes(decision) == expected
    assert decision.eligible is (not expected)
    assert decision.policy_version == (None if rules is None else rules.version)
    assert decision.evaluated_at == AT


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(
            order(item(price=CAP + 1)),
            Reason(code="over_value_cap", message_en="", message_ru="", limit=CAP, actual=CAP + 1),
            id="over-value-cap",
        ),
        pytest.param(
            order(item("W-1", weight=MAX_ITEM_G + 5)),
            Reason(
                code="item_too_heavy",
                message_en="",
                message_ru="",
                sku="W-1",
                limit=MAX_ITEM_G,
                actual=MAX_ITEM_G + 5,
            ),
            id="item-too-heavy",
        ),
        pytest.param(
            order(item("W-2", weight=4_000, quantity=4, price=1)),
            Reason(code="order_too_heavy", message_en="", message_ru="", limit=MAX_ORDER_G, actual=16_000),
            id="order-too-heavy",
        ),
        pytest.param(
            order(item("VAPE-1", category="e_cigarettes")),
            Reason(
                code="excluded_category", message_en="", message_ru="", sku="VAPE-1", category="e_cigarettes"
            ),
            id="excluded-category",
        ),
        pytest.param(
            order(item("MILK-1", attributes=("fresh",))),
            Reason(code="excluded_attribute", message_en="", message_ru="", sku="MILK-1", attribute="fresh"),
            id="excluded-attribute",
        ),
        # The first side, longest first, that does not fit: 450 against the box's 400.
        pytest.param(
            order(item("RUG-1", dimensions=(100, 450, 500))),
            Reason(code="item_too_large", message_en="", message_ru="", sku="RUG-1", limit=400, actual=450),
            id="item-too-large",
        ),
    ],
)
def test_reason_details(facts: OrderFacts, expected: Reason) -> None:
    (reason,) = evaluate(facts, version(), AT).reasons

    assert msgspec.structs.replace(reason, message_en="", message_ru="") == expected


def test_every_failing_rule_is_listed_at_once_in_rule_order() -> None:
    facts = order(
        item("Z-HEAVY", weight=MAX_ITEM_G + 1, price=CAP),
        item("A-WINE", category="alcohol"),
        item("B-MILK", attributes=("fresh", "bulky")),
        item("C-SOFA", dimensions=(2_000, 900, 800), weight=MAX_ORDER_G),
        delivery_method="pickup_point",
        payment="card_on_delivery",
        customer_barred=True,
    )

    decision = evaluate(facts, version(), AT)

    assert [(reason.code, reason.sku, reason.attribute) for reason in decision.reasons] == [
        ("not_courier_delivery", None, None),
        ("not_prepaid", None, None),
        ("customer_barred", None, None),
        ("over_value_cap", None, None),
        ("order_too_heavy", None, None),
        ("excluded_category", "A-WINE", None),
        ("excluded_attribute", "B-MILK", "bulky"),
        ("excluded_attribute", "B-MILK", "fresh"),
        ("item_too_large", "C-SOFA", None),
        ("item_too_heavy", "C-SOFA", None),
        ("item_too_heavy", "Z-HEAVY", None),
    ]
    assert not decision.eligible


def test_city_outside_rollout_still_reports_goods_against_policy_defaults() -> None:
    # The cap belongs to a city, so it cannot be judged; the goods can.
    facts = order(item("WINE-1", category="alcohol", price=CAP * 10, weight=MAX_ITEM_G + 1), city="KZN")

    decision = evaluate(facts, version(), AT)

    assert codes(decision) == ["city_not_in_rollout", "excluded_category", "item_too_heavy"]


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        pytest.param(CityRule(cap_kopecks=CAP), order(item(price=CAP + 1)), ["over_value_cap"], id="own-cap"),
        pytest.param(CityRule(cap_kopecks=CAP * 2), order(item(price=CAP + 1)), [], id="higher-own-cap"),
        pytest.param(
            CityRule(cap_kopecks=CAP, excluded_attributes=("digital",)),
            order(item(attributes=("fresh",))),
            [],
            id="override-allows-fresh",
        ),
        pytest.param(
            CityRule(cap_kopecks=CAP, excluded_categories=("books",)),
            order(item(category="books")),
            ["excluded_category"],
            id="override-excludes-books",
        ),
        pytest.param(
            CityRule(cap_kopecks=CAP, max_item_dimensions_mm=(300, 300, 300)),
            order(item(dimensions=(310, 10, 10))),
            ["item_too_large"],
            id="override-smaller-box",
        ),
        pytest.param(
            CityRule(cap_kopecks=CAP, max_item_weight_g=MAX_ITEM_G * 2, max_order_weight_g=MAX_ORDER_G * 2),
            order(item(weight=MAX_ITEM_G * 2, price=1)),
            [],
            id="override-heavier-limits",
        ),
    ],
)
def test_city_rule_overrides_policy_defaults(rule: CityRule, facts: OrderFacts, expected: list[str]) -> None:
    rules = version(policy(cities={"MOW": rule}))

    assert codes(evaluate(facts, rules, AT)) == expected


def test_reasons_of_one_rule_are_ordered_by_sku() -> None:
    facts = order(item("C", category="alcohol"), item("A", category="alcohol"), item("B", category="alcohol"))

    decision = evaluate(facts, version(), AT)

    assert [reason.sku for reason in decision.reasons] == ["A", "B", "C"]


def test_same_sku_on_two_lines_is_reported_once() -> None:
    wine = item("WINE-1", category="alcohol", price=1)

    decision = evaluate(order(wine, wine), version(), AT)

    assert codes(decision) == ["excluded_category"]


def test_every_reason_has_messages_in_english_and_russian() -> None:
    everything = order(
        item(
            "A", category="alcohol", attributes=("fresh",), dimensions=(900, 900, 900), weight=MAX_ORDER_G + 1
        ),
        item("B", price=CAP * 10),
        delivery_method="pickup_point",
        payment="cash_on_delivery",
        customer_barred=True,
    )
    reasons = [
        *evaluate(everything, version(), AT).reasons,
        *evaluate(order(city="KZN"), version(), AT).reasons,
        *evaluate(order(), None, AT).reasons,
    ]

    assert {reason.code for reason in reasons} == set(ReasonCode)
    for reason in reasons:
        assert reason.message_en.strip(), reason.code
        assert re.search("[А-Яа-яЁё]", reason.message_ru), reason.code
        assert not re.search("[А-Яа-яЁё]", reason.message_en), reason.code


def test_messages_carry_the_details() -> None:
    (reason,) = evaluate(order(item(price=CAP + 1)), version(), AT).reasons

    assert "2,000.00 RUB" in reason.message_en
    assert "2,000.01 RUB" in reason.message_en
    assert "2 000,00 ₽" in reason.message_ru


def test_order_value_is_unit_price_times_quantity_summed() -> None:
    facts = order(item("A", price=12_345, quantity=3), item("B", price=1, quantity=1))

    assert order_value_kopecks(facts) == 37_036


def test_empty_order_is_judged_on_the_order_rules_alone() -> None:
    facts = OrderFacts(delivery_method="courier", payment="prepaid", city="MOW", items=())

    assert evaluate(facts, version(), AT).eligible


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        evaluate(order(), version(), datetime(2025, 6, 1, 12, 0))  # noqa: DTZ001


def test_decision_wire_format_is_camel_case_without_empty_details() -> None:
    decision = evaluate(order(item("VAPE-1", category="e_cigarettes")), version(), AT)

    wire = msgspec.json.decode(msgspec.json.encode(decision))

    assert set(wire) == {"eligible", "reasons", "policyVersion", "evaluatedAt"}
    assert set(wire["reasons"][0]) == {"code", "messageEn", "messageRu", "sku", "category"}
    assert msgspec.json.decode(msgspec.json.encode(decision), type=Decision) == decision


@pytest.mark.parametrize(
    ("dimensions", "expected"),
    [
        pytest.param((300, 600, 400), [], id="fits-a-box-written-out-of-order"),
        pytest.param((600, 400, 300), [], id="fits-a-box-written-out-of-order-longest-first"),
        pytest.param((401, 600, 300), ["item_too_large"], id="over-a-box-written-out-of-order"),
    ],
)
def test_limit_box_may_be_written_in_any_orientation(
    dimensions: tuple[int, int, int], expected: list[str]
) -> None:
    rules = version(policy(box=(400, 600, 300)))

    assert codes(evaluate(order(item(dimensions=dimensions)), rules, AT)) == expected
