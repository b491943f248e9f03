"""Door-drop policy as versioned data, and how to pick the version in force.

A policy document is the JSON form of `Policy` (camelCase). Versions are immutable: a change of
rules is a new `PolicyVersion`, never an edit, so a decision can always be explained by the
version number it carries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Final, TypeVar

import msgspec
from msgspec import Meta

ANY_CITY: Final = "*"
"""The `cities` key that covers every city without an entry of its own."""

_CITY_CODE_PATTERN: Final = r"^(\*|[A-Z]{3})$"
_CITY_CODE = re.compile(_CITY_CODE_PATTERN)

PositiveInt = Annotated[int, Meta(gt=0)]
Dimensions = tuple[PositiveInt, PositiveInt, PositiveInt]
CityCode = Annotated[str, Meta(pattern=_CITY_CODE_PATTERN)]
# Policy documents are stored as jsonb, which cannot hold U+0000: refused when decoded, and said so in
# the OpenAPI document (`infra.documents.NO_NUL`, repeated here: this package imports nothing of ours).
_NO_NUL = Meta(pattern=r"\A[^\x00]*\Z")
Name = Annotated[str, Meta(min_length=1), _NO_NUL]
_T = TypeVar("_T")


# Policy documents are written by people: an unknown (misspelt) field must fail loudly rather
# than silently leave a limit at its inherited value.
class CityRule(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True, forbid_unknown_fields=True
):
    """A city's value cap and optional overrides; `None` inherits the policy-wide value."""

    cap_kopecks: PositiveInt
    max_item_dimensions_mm: Dimensions | None = None
    max_item_weight_g: PositiveInt | None = None
    max_order_weight_g: PositiveInt | None = None
    excluded_categories: tuple[Name, ...] | None = None
    excluded_attributes: tuple[Name, ...] | None = None


class Policy(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """One complete policy document: where door drop is offered and for which goods."""

    effective_from: Annotated[datetime, Meta(tz=True)]
    note: Annotated[str, _NO_NUL]
    cities: Annotated[dict[CityCode, CityRule], Meta(min_length=1)]
    max_item_dimensions_mm: Dimensions
    max_item_weight_g: PositiveInt
    max_order_weight_g: PositiveInt
    excluded_categories: tuple[Name, ...]
    excluded_attributes: tuple[Name, ...]


class PolicyVersion(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    version: Annotated[int, Meta(ge=1)]
    policy: Policy


class PolicyProblem(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Why a policy document cannot be published; `field` is a camelCase path into the document."""

    field: str
    message: str


class EffectiveLimits(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A city's rule merged over the policy-wide defaults."""

    cap_kopecks: int
    max_item_dimensions_mm: tuple[int, int, int]
    max_item_weight_g: int
    max_order_weight_g: int
    excluded_categories: tuple[str, ...]
    excluded_attributes: tuple[str, ...]


def validate_policy(policy: Policy) -> list[PolicyProblem]:
    """List everything wrong with a policy document; an empty list means it can be published.

    Repeats the checks the type constraints make on decode, because a `Policy` built in code
    skips them.
    """
    problems: list[PolicyProblem] = []
    if policy.effective_from.utcoffset() is None:
        problems.append(PolicyProblem(field="effectiveFrom", message="must carry a timezone"))
    if not policy.cities:
        problems.append(PolicyProblem(field="cities", message="must name at least one city or '*'"))
    for code, rule in policy.cities.items():
        path = f"cities.{code}"
        if not _CITY_CODE.fullmatch(code):
            problems.append(
                PolicyProblem(field=path, message="city code must be '*' or three capital letters")
            )
        _check_positive(problems, f"{path}.capKopecks", rule.cap_kopecks)
        if rule.max_item_dimensions_mm is not None:
            _check_dimensions(problems, f"{path}.maxItemDimensionsMm", rule.max_item_dimensions_mm)
        if rule.max_item_weight_g is not None:
            _check_positive(problems, f"{path}.maxItemWeightG", rule.max_item_weight_g)
        if rule.max_order_weight_g is not None:
            _check_positive(problems, f"{path}.maxOrderWeightG", rule.max_order_weight_g)
        if rule.excluded_categories is not None:
            _check_names(problems, f"{path}.excludedCategories", rule.excluded_categories)
        if rule.excluded_attributes is not None:
            _check_names(problems, f"{path}.excludedAttributes", rule.excluded_attributes)
    _check_dimensions(problems, "maxItemDimensionsMm", policy.max_item_dimensions_mm)
    _check_positive(problems, "maxItemWeightG", policy.max_item_weight_g)
    _check_positive(problems, "maxOrderWeightG", policy.max_order_weight_g)
    _check_names(problems, "excludedCategories", policy.excluded_categories)
    _check_names(problems, "excludedAttributes", policy.excluded_attributes)
    return problems


def _check_positive(problems: list[PolicyProblem], field: str, value: int) -> None:
    if value <= 0:
        problems.append(PolicyProblem(field=field, message=f"must be positive, got {value}"))


def _check_dimensions(problems: list[PolicyProblem], field: str, dimensions: tuple[int, ...]) -> None:
    if len(dimensions) != 3:
        problems.append(PolicyProblem(field=field, message=f"must have 3 sides, got {len(dimensions)}"))
    for index, side in enumerate(dimensions):
        _check_positive(problems, f"{field}[{index}]", side)


def _check_names(problems: list[PolicyProblem], field: str, names: tuple[str, ...]) -> None:
    for index, name in enumerate(names):
        if not name:
            problems.append(PolicyProblem(field=f"{field}[{index}]", message="must not be empty"))


def policy_in_force(versions: Sequence[PolicyVersion], at: datetime) -> PolicyVersion | None:
    """The version with the latest `effectiveFrom` not after `at`; the higher version wins a tie."""
    if at.utcoffset() is None:
        raise ValueError("`at` must be timezone-aware")
    best: PolicyVersion | None = None
    best_starts = at
    for candidate in versions:
        starts = candidate.policy.effective_from
        if starts > at:
            continue
        if (
            best is None
            or starts > best_starts
            or (starts == best_starts and candidate.version > best.version)
        ):
            best = candidate
            best_starts = starts
    return best


def city_rule(policy: Policy, city: str) -> CityRule | None:
    """The rule that covers `city`: its own entry, else the `*` entry, else none."""
    rule = policy.cities.get(city)
    if rule is None:
        rule = policy.cities.get(ANY_CITY)
    return rule


def resolve_city(policy: Policy, city: str) -> EffectiveLimits | None:
    """The limits in force for `city`, or None when the policy does not cover it."""
    rule = city_rule(policy, city)
    if rule is None:
        return None
    return EffectiveLimits(
        cap_kopecks=rule.cap_kopecks,
        max_item_dimensions_mm=_inherit(rule.max_item_dimensions_mm, policy.max_item_dimensions_mm),
        max_item_weight_g=_inherit(rule.max_item_weight_g, policy.max_item_weight_g),
        max_order_weight_g=_inherit(rule.max_order_weight_g, policy.max_order_weight_g),
        excluded_categories=_inherit(rule.excluded_categories, policy.excluded_categories),
        excluded_attributes=_inherit(rule.excluded_attributes, policy.excluded_attributes),
    )


def _inherit(override: _T | None, default: _T) -> _T:
    return default if override is None else override
