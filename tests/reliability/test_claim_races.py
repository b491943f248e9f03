"""Races for claim money against a real `courier-api serve`, which serves requests concurrently.

The in-process test client runs one request at a time, so these go over real HTTP. Whatever the
interleaving, an order is paid at most its value, once, and every loser gets a clean 409 problem+json.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from courier_api.auth import Principal
from courier_api.context import Config, RequestContext
from courier_api.schemas.claims import ClaimDecisionRequest
from courier_api.use_cases import claims
from infra.database import Database
from infra.storage import ObjectStore
from tests.api.test_claim_money import (
    VALUE,
    assert_problem,
    claims_url,
    compensated,
    decision_url,
    open_claim,
)
from tests.api.test_claims_api import delivered
from tests.conftest import AuthHeaders
from tests.factories import item
from tests.reliability.conftest import LiveApi

DECIDERS = 6
BLOCKED_DEADLINE_S = 20.0


async def test_parallel_decisions_and_new_claims_pay_an_order_once(
    http: httpx.AsyncClient, auth: AuthHeaders, live_db: Database
) -> None:
    """Six agents decide the same claim at once while the customer keeps opening new claims."""
    drop = await delivered(http, auth, items=[item(price=VALUE)])
    claim_id = await open_claim(http, auth, drop)
    decisions = [
        http.post(
            decision_url(claim_id),
            json={"decision": "compensate", "amountKopecks": VALUE - n, "reason": f"agent {n}"},
            headers=auth("support", f"agent-race-{n}"),
        )
        for n in range(DECIDERS)
    ]
    openings = [
        http.post(claims_url(drop), json={"kind": "damaged"}, headers=auth("customer", drop.customer_id))
        for _ in range(3)
    ]
    answers = await asyncio.gather(*decisions, *openings)
    decided, opened = answers[:DECIDERS], answers[DECIDERS:]

    assert sorted(answer.status_code for answer in decided) == [200] + [409] * (DECIDERS - 1)
    for answer in decided:
        if answer.status_code != 200:
            assert_problem(answer, 409, "claim.already_decided")
    for answer in opened:
        assert assert_problem(answer, 409)["code"] in {"claim.already_open", "claim.already_decided"}
    paid, statuses = await compensated(live_db, drop.order_id)
    assert statuses == ["decided"]
    assert VALUE - DECIDERS < paid <= VALUE


async def test_parallel_claim_openings_end_with_one_claim(
    http: httpx.AsyncClient, auth: AuthHeaders, live_db: Database
) -> None:
    drop = await delivered(http, auth, items=[item(price=VALUE)])
    answers = await asyncio.gather(
        *(
            http.post(
                claims_url(drop), json={"kind": "not_received"}, headers=auth("customer", drop.customer_id)
            )
            for _ in range(5)  # the claim rate limit is 5 an hour per customer
        )
    )
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 4
    for answer in answers:
        if answer.status_code != 201:
            assert_problem(answer, 409, "claim.already_open")
    assert (await compensated(live_db, drop.order_id))[1] == ["open"]


async def until_a_request_waits_for_a_lock(database_url: str) -> None:
    """Return once a session of the server's database waits for a lock: the racing request is parked."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + BLOCKED_DEADLINE_S
        while not await conn.fetchval(
            "select exists (select 1 from pg_stat_activity"
            " where datname = current_database() and wait_event_type = 'Lock')"
        ):
            assert time.monotonic() < deadline, "the racing request never waited for the payout"
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


async def test_a_claim_opened_while_a_payout_commits_is_refused(
    http: httpx.AsyncClient, auth: AuthHeaders, live_db: Database, live_api: LiveApi, store: ObjectStore
) -> None:
    """The customer's new claim arrives while support's payout is written but not yet committed.

    A fixed interleaving, not a lucky one: the payout's transaction stays open until the claim request
    is seen waiting for a lock, and only then commits. A finality check that read the claims before the
    commit would let the new claim in, and a second payout with it.
    """
    drop = await delivered(http, auth, items=[item(price=VALUE)])
    claim_id = await open_claim(http, auth, drop)
    payout = ClaimDecisionRequest(decision="compensate", reason="stolen", amount_kopecks=VALUE)
    async with live_db.transaction() as uow:
        ctx = RequestContext(
            principal=Principal(role="support", sub="agent-race"),
            now=datetime.now(UTC),
            config=Config.from_settings(live_api.settings),
            db=live_db,
            store=store,
            transaction=uow,
        )
        await claims.decide_claim(ctx, uuid.UUID(claim_id), payout)
        racing = asyncio.create_task(
            http.post(claims_url(drop), json={"kind": "damaged"}, headers=auth("customer", drop.customer_id))
        )
        await until_a_request_waits_for_a_lock(live_api.settings.database_url)
    assert_problem(await racing, 409, "claim.already_decided")
    assert await compensated(live_db, drop.order_id) == (VALUE, ["decided"])
