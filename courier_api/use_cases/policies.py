"""Admin: publish and inspect policy versions, and ask what a draft would change before a rollout step."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from courier_api.context import RequestContext
from courier_api.errors import InvalidInput, NotFound
from courier_api.schemas.eligibility import PolicyVersionView, WhatIfAnswer, WhatIfCity
from courier_api.schemas.records import view_of
from courier_api.use_cases.eligibility import order_facts
from eligibility import Policy, PolicyVersion, decide, evaluate, policy_in_force, validate_policy
from infra.repositories.policies import StoredPolicy

_WHAT_IF_MAX_DAYS = 400


def _policy(row: StoredPolicy) -> Policy:
    return msgspec.convert(row.document, Policy)


def _view(row: StoredPolicy) -> PolicyVersionView:
    return view_of(PolicyVersionView, row, policy=_policy(row))


async def publish(ctx: RequestContext, draft: Policy) -> PolicyVersionView:
    """Validate and store a new version; versions are never edited or deleted."""
    ctx.principal.require("admin")
    problems = validate_policy(draft)
    if problems:
        first = problems[0]
        raise InvalidInput(
            "; ".join(f"{p.field}: {p.message}" for p in problems), field=first.field, code="policy.invalid"
        )
    stored = await ctx.uow.policies.add(
        effective_from=draft.effective_from, document=msgspec.to_builtins(draft), created_by=ctx.principal.sub
    )
    ctx.policies_changed()
    return _view(stored)


async def list_versions(ctx: RequestContext) -> list[PolicyVersionView]:
    ctx.principal.require("admin")
    return [_view(row) for row in await ctx.uow.policies.all()]


async def in_force(ctx: RequestContext, at: datetime | None) -> PolicyVersionView:
    """The version in force at `at` (now when None), from one read of the stored versions."""
    ctx.principal.require("admin")
    rows = {row.version: row for row in await ctx.uow.policies.all()}
    versions = [PolicyVersion(version=row.version, policy=_policy(row)) for row in rows.values()]
    chosen = policy_in_force(versions, at or ctx.now)
    if chosen is None:
        raise NotFound("policy")
    return _view(rows[chosen.version])


@dataclass
class _CityTally:
    orders: int = 0
    eligible_draft: int = 0
    eligible_now: int = 0
    refusals_draft: Counter[str] = field(default_factory=Counter)
    refusals_now: Counter[str] = field(default_factory=Counter)


async def what_if(
    ctx: RequestContext,
    draft: Policy,
    created_from: datetime,
    created_to: datetime,
) -> WhatIfAnswer:
    """Per city: orders created in the range eligible under the draft vs under the version in force then."""
    ctx.principal.require("admin")
    uow = ctx.uow
    if created_to <= created_from:
        raise InvalidInput("createdTo must be after createdFrom", field="createdTo", code="what_if.bad_range")
    if (created_to - created_from).days > _WHAT_IF_MAX_DAYS:
        raise InvalidInput(
            f"the range may span at most {_WHAT_IF_MAX_DAYS} days",
            field="createdTo",
            code="what_if.bad_range",
        )
    problems = validate_policy(draft)
    if problems:
        raise InvalidInput(
            "; ".join(f"{p.field}: {p.message}" for p in problems),
            field=problems[0].field,
            code="policy.invalid",
        )
    versions = await ctx.catalog.versions(uow)
    # The draft is judged as if it were in force when each order was placed.
    draft_version = PolicyVersion(version=max((v.version for v in versions), default=0) + 1, policy=draft)
    tallies: dict[str, _CityTally] = {}
    cursor: tuple[datetime, str] | None = None
    while True:
        page = await uow.orders.created_between(created_from, created_to, after=cursor)
        if not page:
            break
        barred = await uow.bars.barred_among(list({order.customer_id for order in page}))
        for order in page:
            facts = order_facts(order.snapshot, customer_barred=order.customer_id in barred)
            under_draft = evaluate(facts, draft_version, order.created_at)
            in_force_then = decide(facts, versions, order.created_at)
            tally = tallies.setdefault(order.city, _CityTally())
            tally.orders += 1
            tally.eligible_draft += under_draft.eligible
            tally.eligible_now += in_force_then.eligible
            tally.refusals_draft.update({reason.code for reason in under_draft.reasons})
            tally.refusals_now.update({reason.code for reason in in_force_then.reasons})
        cursor = (page[-1].created_at, page[-1].order_id)
    cities = [
        WhatIfCity(
            city=city,
            orders=t.orders,
            eligible_under_draft=t.eligible_draft,
            eligible_in_force=t.eligible_now,
            refusals_under_draft=dict(sorted(t.refusals_draft.items())),
            refusals_in_force=dict(sorted(t.refusals_now.items())),
        )
        for city, t in sorted(tallies.items())
    ]
    return WhatIfAnswer(
        orders=sum(c.orders for c in cities),
        eligible_under_draft=sum(c.eligible_under_draft for c in cities),
        eligible_in_force=sum(c.eligible_in_force for c in cities),
        cities=cities,
    )
