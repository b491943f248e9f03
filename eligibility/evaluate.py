"""The door-drop rules: order facts + policy version + moment -> Decision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from eligibility import reasons as why
from eligibility.decision import Decision, Reason, ReasonCode
from eligibility.facts import COURIER, PREPAID, OrderFacts
from eligibility.policy import PolicyVersion, city_rule, policy_in_force

_RANK: Final[dict[str, int]] = {code: rank for rank, code in enumerate(ReasonCode)}


def evaluate(facts: OrderFacts, policy: PolicyVersion | None, at: datetime) -> Decision:
    """Check every rule against `policy` and report all that fail, in a fixed order.

    `policy=None` means no version is in force: the order is refused with `no_policy` plus the
    failures that need no policy (delivery method, payment, barred customer). When the city is
    not covered, the cap cannot be checked; goods are still checked against the policy-wide limits.
    Whether `policy` is in force at `at` is the caller's business (see `decide`).
    """
    if at.utcoffset() is None:
        raise ValueError("`at` must be timezone-aware")
    reasons: list[Reason] = []
    if facts.delivery_method != COURIER:
        reasons.append(why.not_courier_delivery(facts.delivery_method))
    if facts.payment != PREPAID:
        reasons.append(why.not_prepaid(facts.payment))
    if facts.customer_barred:
        reasons.append(why.customer_barred())
    if policy is None:
        reasons.append(why.no_policy())
        return Decision(
            eligible=False, reasons=_in_reporting_order(reasons), policy_version=None, evaluated_at=at
        )

    rules = policy.policy
    box = rules.max_item_dimensions_mm
    max_item_g = rules.max_item_weight_g
    max_order_g = rules.max_order_weight_g
    excluded_categories = rules.excluded_categories
    excluded_attributes = rules.excluded_attributes
    cap: int | None = None
    rule = city_rule(rules, facts.city)
    if rule is None:
        reasons.append(why.city_not_in_rollout(facts.city))
    else:
        cap = rule.cap_kopecks
        if rule.max_item_dimensions_mm is not None:
            box = rule.max_item_dimensions_mm
        if rule.max_item_weight_g is not None:
            max_item_g = rule.max_item_weight_g
        if rule.max_order_weight_g is not None:
            max_order_g = rule.max_order_weight_g
        if rule.excluded_categories is not None:
            excluded_categories = rule.excluded_categories
        if rule.excluded_attributes is not None:
            excluded_attributes = rule.excluded_attributes

    # An item fits if, both sorted longest first, each of its sides fits the box's side.
    box_long, box_mid, box_short = sorted(box, reverse=True)
    value = 0
    weight = 0
    for item in facts.items:
        value += item.unit_price_kopecks * item.quantity
        weight += item.weight_g * item.quantity
        if item.category in excluded_categories:
            reasons.append(why.excluded_category(item.sku, item.category))
        for attribute in item.attributes:
            if attribute in excluded_attributes:
                reasons.append(why.excluded_attribute(item.sku, attribute))
        side_a, side_b, side_c = item.dimensions_mm
        # Fast path: every side within the box's shortest side fits in any orientation.
        if side_a > box_short or side_b > box_short or side_c > box_short:
            long, mid, short = sorted(item.dimensions_mm, reverse=True)
            for limit_mm, actual_mm in ((box_long, long), (box_mid, mid), (box_short, short)):
                if actual_mm > limit_mm:
                    reasons.append(why.item_too_large(item.sku, item.dimensions_mm, box, limit_mm, actual_mm))
                    break
        if item.weight_g > max_item_g:
            reasons.append(why.item_too_heavy(item.sku, max_item_g, item.weight_g))
    if cap is not None and value > cap:
        reasons.append(why.over_value_cap(cap, value))
    if weight > max_order_g:
        reasons.append(why.order_too_heavy(max_order_g, weight))

    if not reasons:
        return Decision(eligible=True, reasons=(), policy_version=policy.version, evaluated_at=at)
    return Decision(
        eligible=False, reasons=_in_reporting_order(reasons), policy_version=policy.version, evaluated_at=at
    )


def decide(facts: OrderFacts, versions: Sequence[PolicyVersion], at: datetime) -> Decision:
    """Evaluate `facts` under the policy version in force at `at`."""
    return evaluate(facts, policy_in_force(versions, at), at)


def _in_reporting_order(reasons: list[Reason]) -> tuple[Reason, ...]:
    # By rule, then by SKU; the message breaks any remaining tie so the order never depends on
    # the order of the lines. Identical reasons (the same SKU on two lines) are reported once.
    if len(reasons) == 1:
        return (reasons[0],)
    unique = dict.fromkeys(reasons)
    return tuple(sorted(unique, key=_reporting_key))


def _reporting_key(reason: Reason) -> tuple[int, str, str]:
    return (_RANK.get(reason.code, len(_RANK)), reason.sku or "", reason.message_en)
