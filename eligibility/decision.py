"""The outcome of an eligibility check: a verdict and every reason against it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec


class ReasonCode(StrEnum):
    """Stable refusal codes. Declaration order is the order reasons are reported in."""

    NOT_COURIER_DELIVERY = "not_courier_delivery"
    NOT_PREPAID = "not_prepaid"
    CUSTOMER_BARRED = "customer_barred"
    NO_POLICY = "no_policy"
    CITY_NOT_IN_ROLLOUT = "city_not_in_rollout"
    OVER_VALUE_CAP = "over_value_cap"
    ORDER_TOO_HEAVY = "order_too_heavy"
    EXCLUDED_CATEGORY = "excluded_category"
    EXCLUDED_ATTRIBUTE = "excluded_attribute"
    ITEM_TOO_LARGE = "item_too_large"
    ITEM_TOO_HEAVY = "item_too_heavy"


class Reason(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """One failed rule. `code` is one of `ReasonCode`; kept a plain str so stored decisions
    with codes from a newer release still decode."""

    code: str
    message_en: str
    message_ru: str
    sku: str | None = None
    category: str | None = None
    attribute: str | None = None
    limit: int | None = None
    actual: int | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Whether an order may be left at the door, under which policy version, and why not."""

    eligible: bool
    reasons: tuple[Reason, ...]
    policy_version: int | None
    evaluated_at: datetime
