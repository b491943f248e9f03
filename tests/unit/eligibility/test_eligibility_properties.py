"""Properties of the rules over generated orders and policies."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from eligibility import CityRule, ItemFacts, OrderFacts, Policy, PolicyVersion, decide, evaluate
from tests.unit.eligibility.eligibility_builders import AT, POLICY_START

CATEGORIES = ("books", "toys", "alcohol", "e_cigarettes", "dairy")
ATTRIBUTES = ("fragile", "fresh", "digital", "bulky", "passport_check")
CITIES = ("MOW", "SPB", "KZN")

sides = st.integers(min_value=1, max_value=800)
items = st.builds(
    ItemFacts,
    sku=st.sampled_from(("A-1", "B-2", "C-3", "D-4", "E-5")),
    category=st.sampled_from(CATEGORIES),
    attributes=st.lists(st.sampled_from(ATTRIBUTES), max_size=3).map(tuple),
    unit_price_kopecks=st.integers(min_value=0, max_value=150_000),
    quantity=st.integers(min_value=1, max_value=4),
    dimensions_mm=st.tuples(sides, sides, sides),
    weight_g=st.integers(min_value=0, max_value=12_000),
)
orders = st.builds(
    OrderFacts,
    delivery_method=st.sampled_from(("courier", "courier", "pickup_point")),
    payment=st.sampled_from(("prepaid", "prepaid", "cash_on_delivery")),
    city=st.sampled_from(CITIES),
    items=st.lists(items, max_size=6).map(tuple),
    customer_barred=st.booleans(),
)
exclusions = st.lists(st.sampled_from(CATEGORIES[2:]), unique=True).map(tuple)
attribute_exclusions = st.lists(st.sampled_from(ATTRIBUTES[1:]), unique=True).map(tuple)
city_rules = st.builds(
    CityRule,
    cap_kopecks=st.integers(min_value=1, max_value=1_000_000),
    max_item_dimensions_mm=st.none() | st.tuples(sides, sides, sides),
    max_item_weight_g=st.none() | st.integers(min_value=1, max_value=12_000),
    max_order_weight_g=st.none() | st.integers(min_value=1, max_value=40_000),
    excluded_categories=st.none() | exclusions,
    excluded_attributes=st.none() | attribute_exclusions,
)
policies = st.builds(
    Policy,
    effective_from=st.just(POLICY_START),
    note=st.just("generated"),
    cities=st.dictionaries(st.sampled_from((*CITIES, "*")), city_rules, min_size=1, max_size=3),
    max_item_dimensions_mm=st.tuples(sides, sides, sides),
    max_item_weight_g=st.integers(min_value=1, max_value=12_000),
    max_order_weight_g=st.integers(min_value=1, max_value=40_000),
    excluded_categories=exclusions,
    excluded_attributes=attribute_exclusions,
)


def codes(facts: OrderFacts, rules: Policy) -> set[str]:
    return {reason.code for reason in evaluate(facts, PolicyVersion(version=1, policy=rules), AT).reasons}


@given(orders, policies, st.integers(min_value=0, max_value=1_000_000))
def test_raising_caps_never_adds_a_reason(facts: OrderFacts, rules: Policy, raise_by: int) -> None:
    raised = msgspec.structs.replace(
        rules,
        cities={
            code: msgspec.structs.replace(rule, cap_kopecks=rule.cap_kopecks + raise_by)
            for code, rule in rules.cities.items()
        },
    )

    assert codes(facts, raised) <= codes(facts, rules)


def _without(names: tuple[str, ...] | None, name: str) -> tuple[str, ...] | None:
    return None if names is None else tuple(n for n in names if n != name)


@given(orders, policies, st.sampled_from(CATEGORIES))
def test_removing_a_category_exclusion_never_adds_a_reason(
    facts: OrderFacts, rules: Policy, category: str
) -> None:
    relaxed = msgspec.structs.replace(
        rules,
        excluded_categories=tuple(c for c in rules.excluded_categories if c != category),
        cities={
            code: msgspec.structs.replace(
                rule, excluded_categories=_without(rule.excluded_categories, category)
            )
            for code, rule in rules.cities.items()
        },
    )

    assert codes(facts, relaxed) <= codes(facts, rules)


@given(orders, policies, st.sampled_from(ATTRIBUTES))
def test_removing_an_attribute_exclusion_never_adds_a_reason(
    facts: OrderFacts, rules: Policy, attribute: str
) -> None:
    relaxed = msgspec.structs.replace(
        rules,
        excluded_attributes=tuple(a for a in rules.excluded_attributes if a != attribute),
        cities={
            code: msgspec.structs.replace(
                rule, excluded_attributes=_without(rule.excluded_attributes, attribute)
            )
            for code, rule in rules.cities.items()
        },
    )

    assert codes(facts, relaxed) <= codes(facts, rules)


@given(orders.flatmap(lambda o: st.tuples(st.just(o), st.permutations(o.items))), policies)
def test_reasons_do_not_depend_on_item_order(
    order_and_permutation: tuple[OrderFacts, list[ItemFacts]], rules: Policy
) -> None:
    facts, permuted = order_and_permutation
    shuffled = msgspec.structs.replace(facts, items=tuple(permuted))
    version = PolicyVersion(version=1, policy=rules)

    assert evaluate(shuffled, version, AT) == evaluate(facts, version, AT)


@given(orders, policies)
def test_decision_is_deterministic_and_survives_the_wire(facts: OrderFacts, rules: Policy) -> None:
    version = PolicyVersion(version=3, policy=rules)
    # A copy decoded from JSON shares no objects with the original.
    copy = msgspec.json.decode(msgspec.json.encode(version), type=PolicyVersion)

    first = evaluate(facts, version, AT)

    assert evaluate(facts, version, AT) == first
    assert evaluate(facts, copy, AT) == first
    assert decide(facts, [copy], AT) == first
    assert msgspec.json.decode(msgspec.json.encode(first), type=type(first)) == first


@given(orders, policies)
def test_eligible_exactly_when_no_reason(facts: OrderFacts, rules: Policy) -> None:
    decision = evaluate(facts, PolicyVersion(version=1, policy=rules), AT)

    assert decision.eligible is (decision.reasons == ())
    assert len(set(decision.reasons)) == len(decision.reasons)
