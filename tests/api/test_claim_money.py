"""Claim money over HTTP: one order is never paid more than its value, decisions are final, amounts are sane.

Each rule has its happy case beside the abuse a dishonest customer tries: a second claim after a payout,
a payout over what an earlier one left, and amounts that are not whole kopecks. The races (several
decisions at once, a claim opened while a payout commits) need a server that really serves requests
concurrently, which the in-process test client does not: `tests/reliability/test_claim_races.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.database import Database
from tests.api.capture_flow import Client, DoorDrop
from tests.api.test_claims_api import delivered
from tests.conftest import AuthHeaders
from tests.factories import item

VALUE = 120_000  # kopecks: the one item of every order here


def claims_url(drop: DoorDrop) -> str:
    return f"/v1/me/orders/{drop.order_id}/claims"


def decision_url(claim_id: str) -> str:
    return f"/v1/support/claims/{claim_id}/decision"


def assert_problem(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


async def open_claim(client: Client, auth: AuthHeaders, drop: DoorDrop) -> str:
    opened = await client.post(
        claims_url(drop), json={"kind": "not_received"}, headers=auth("customer", drop.customer_id)
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["claimId"])


async def compensated(db: Database, order_id: str) -> tuple[int, list[str]]:
    """What the database holds for the order: the kopecks paid over all claims, and each claim's status."""
    async with db.transaction() as uow:
        rows = await uow.claims.for_order(order_id)
    paid = sum(row.amount_kopecks or 0 for row in rows if row.decision == "compensate")
    return paid, [row.status for row in rows]


# --- Point 6: an order is compensated at most once, up to its value ---------------------------------


@pytest.mark.parametrize("first", ["compensate", "reject"])
async def test_after_a_decision_the_order_takes_no_new_claim(
    client: Client, auth: AuthHeaders, db: Database, first: str
) -> None:
    drop = await delivered(client, auth, items=[item(price=VALUE)])
    claim_id = await open_claim(client, auth, drop)
    body: dict[str, Any] = {"decision": first, "reason": "decided"}
    if first == "compensate":
        body["amountKopecks"] = VALUE
    decided = await client.post(decision_url(claim_id), json=body, headers=auth("support", "agent-m1"))
    assert decided.status_code == 200, decided.text

    # The abuse: a new claim for the same order, hoping for a second payout.
    again = await client.post(
        claims_url(drop),
        json={"kind": "damaged", "comment": "still not here"},
        headers=auth("customer", drop.customer_id),
    )
    assert_problem(again, 409, "claim.already_decided")
    paid, statuses = await compensated(db, drop.order_id)
    assert statuses == ["decided"]
    assert paid == (VALUE if first == "compensate" else 0)


async def test_compensation_over_all_claims_of_an_order_stays_within_its_value(
    client: Client, auth: AuthHeaders, db: Database
) -> None:
    """An order that already has a payout (say, from before decisions were final) gets only the rest."""
    drop = await delivered(client, auth, items=[item(price=VALUE)])
    first = await open_claim(client, auth, drop)
    support = auth("support", "agent-m2")
    paid_first = await client.post(
        decision_url(first),
        json={"decision": "compensate", "amountKopecks": 70_000, "reason": "half the parcel"},
        headers=support,
    )
    assert paid_first.status_code == 200, paid_first.text
    # A second open claim as one opened before finality existed: written through the repository.
    async with db.transaction() as uow:
        legacy = await uow.claims.open(
            order_id=drop.order_id,
            customer_id=drop.customer_id,
            kind="damaged",
            comment="",
            at=datetime.now(UTC),
        )
    second = decision_url(str(legacy.claim_id))

    over = await client.post(
        second,
        json={"decision": "compensate", "amountKopecks": 50_001, "reason": "the rest and a bit"},
        headers=support,
    )
    problem = assert_problem(over, 422, "claim.amount_over_value")
    assert "50000" in problem["detail"]
    assert problem["invalidParams"][0]["name"] == "amountKopecks"
    rest = await client.post(
        second,
        json={"decision": "compensate", "amountKopecks": 50_000, "reason": "the rest"},
        headers=support,
    )
    assert rest.status_code == 200, rest.text
    paid, statuses = await compensated(db, drop.order_id)
    assert (paid, statuses) == (VALUE, ["decided", "decided"])


# --- Point 7: amounts are whole kopecks within what remains -----------------------------------------


# The body as a dishonest or buggy client writes it: JSON text, so non-JSON numbers can be sent too.
BAD_AMOUNTS: list[tuple[bytes, int, str]] = [
    (b"1e100000", 400, "request.invalid"),
    (b"-1", 400, "request.invalid"),
    (b"0", 400, "request.invalid"),
    (b"1.5", 400, "request.invalid"),
    (b"NaN", 400, "request.invalid"),
    (b'"NaN"', 400, "request.invalid"),
    (b"99999999999999999999999", 400, "request.invalid"),
    (b'""', 400, "request.invalid"),
    (b"null", 422, "claim.amount_required"),
    (b"120001", 422, "claim.amount_over_value"),
]


async def test_api_amounts_must_be_whole_kopecks_within_the_order_value(
    client: Client, auth: AuthHeaders, db: Database
) -> None:
    drop = await delivered(client, auth, items=[item(price=VALUE)])
    claim_id = await open_claim(client, auth, drop)
    support = auth("support", "agent-m4")
    for raw, status, code in BAD_AMOUNTS:
        body = b'{"decision": "compensate", "reason": "stolen", "amountKopecks": ' + raw + b"}"
        refused = await client.post(
            decision_url(claim_id), content=body, headers=support | {"Content-Type": "application/json"}
        )
        problem = assert_problem(refused, status, code)
        assert problem["detail"], raw
    assert await compensated(db, drop.order_id) == (0, ["open"])

    exact = await client.post(
        decision_url(claim_id),
        json={"decision": "compensate", "amountKopecks": VALUE, "reason": "stolen"},
        headers=support,
    )
    assert exact.status_code == 200, exact.text
    assert await compensated(db, drop.order_id) == (VALUE, ["decided"])
