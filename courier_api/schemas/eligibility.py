"""Eligibility on the wire: checks, door-drop state, policy versions and what-if answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from eligibility import Decision, Policy, Reason
from infra.documents import Locale, OrderSnapshot, WireStruct


class ReasonView(WireStruct):
    code: str
    message: str
    messages: dict[str, str]
    sku: str | None = None
    category: str | None = None
    attribute: str | None = None
    limit: int | None = None
    actual: int | None = None

    @classmethod
    def of(cls, reason: Reason, locale: Locale) -> ReasonView:
        """The reason in the customer's language, with both texts for the apps."""
        return cls(
            code=reason.code,
            message=reason.message_ru if locale == "ru" else reason.message_en,
            messages={"ru": reason.message_ru, "en": reason.message_en},
            sku=reason.sku,
            category=reason.category,
            attribute=reason.attribute,
            limit=reason.limit,
            actual=reason.actual,
        )


class DecisionView(WireStruct):
    eligible: bool
    reasons: list[ReasonView]
    policy_version: int | None
    evaluated_at: datetime

    @classmethod
    def of(cls, decision: Decision, locale: Locale) -> DecisionView:
        return cls(
            eligible=decision.eligible,
            reasons=[ReasonView.of(reason, locale) for reason in decision.reasons],
            policy_version=decision.policy_version,
            evaluated_at=decision.evaluated_at,
        )


class EligibilityCheck(WireStruct):
    order: OrderSnapshot
    at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class DoorDropChoice(WireStruct):
    enabled: bool


class DoorDropView(WireStruct):
    order_id: str
    # True when the customer opted in AND the order is eligible now: the courier leaves it at the door.
    active: bool
    # Why it is (not) active: for the customer, support and the order system; never for the courier,
    # who must not learn that a customer opted out or was barred for fraud (both omitted for them).
    enabled: bool | None = None
    decision: DecisionView | None = None


class PolicyVersionView(WireStruct):
    version: int
    policy: Policy
    created_by: str
    created_at: datetime


class WhatIfRequest(WireStruct):
    draft: Policy
    created_from: Annotated[datetime, msgspec.Meta(tz=True)]
    created_to: Annotated[datetime, msgspec.Meta(tz=True)]


class WhatIfCity(WireStruct):
    city: str
    orders: int
    eligible_under_draft: int
    eligible_in_force: int
    refusals_under_draft: dict[str, int]
    refusals_in_force: dict[str, int]


class WhatIfAnswer(WireStruct):
    orders: int
    eligible_under_draft: int
    eligible_in_force: int
    cities: list[WhatIfCity]
