"""Door-drop eligibility: pure rules over order facts and a versioned policy.

Stdlib and msgspec only; no I/O and no clock: the moment of a decision is always an argument.
"""

from eligibility.decision import Decision, Reason, ReasonCode
from eligibility.evaluate import decide, evaluate
from eligibility.facts import ItemFacts, OrderFacts, order_value_kopecks
from eligibility.policy import (
    ANY_CITY,
    CityRule,
    EffectiveLimits,
    Policy,
    PolicyProblem,
    PolicyVersion,
    policy_in_force,
    resolve_city,
    validate_policy,
)
from eligibility.rollout_examples import rollout_timeline

__all__ = [
    "ANY_CITY",
    "CityRule",
    "Decision",
    "EffectiveLimits",
    "ItemFacts",
    "OrderFacts",
    "Policy",
    "PolicyProblem",
    "PolicyVersion",
    "Reason",
    "ReasonCode",
    "decide",
    "evaluate",
    "order_value_kopecks",
    "policy_in_force",
    "resolve_city",
    "rollout_timeline",
    "validate_policy",
]
