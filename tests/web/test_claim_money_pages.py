"""Claim money on the pages: the support form takes whole kopecks within what remains, and a decided
order offers and accepts no new claim. The same rules as the JSON API (`tests/api/test_claim_money.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from courier_api.auth import TokenService
from infra.database import Database
from tests.api.capture_flow import Client
from tests.api.test_claim_money import VALUE, compensated, open_claim
from tests.api.test_claims_api import delivered
from tests.conftest import AuthHeaders
from tests.factories import item
from tests.web.conftest import LiveServer
from tests.web.pages import assert_page_headers, browser_like, csrf_of, sign_in

# What an agent may type (or a forged form may post) instead of whole kopecks.
BAD_FORM_AMOUNTS = ["1e100000", "-1", "0", "1.5", "NaN", "99999999999999999999999", "", "1 200", "120001"]


def assert_error_page(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="detail"' in answer.text, "the page says what was wrong"
    assert_page_headers(answer)


async def test_support_form_amounts_are_whole_kopecks_within_what_remains(
    client: Client, auth: AuthHeaders, db: Database, live_server: LiveServer, tokens: TokenService
) -> None:
    drop = await delivered(client, auth, items=[item(price=VALUE)])
    claim_id = await open_claim(client, auth, drop)
    page_url = f"/support/orders/{drop.order_id}"
    decide = f"/support/claims/{claim_id}/decision"
    async with browser_like(live_server.url) as support:
        await sign_in(support, tokens, page_url, "support", "agent-page-money")
        page = await support.get(page_url)
        assert f"at most {VALUE} =" in page.text
        csrf = csrf_of(page)
        form = {"csrf": csrf, "decision": "compensate", "reason": "stolen"}
        for amount in BAD_FORM_AMOUNTS:
            refused = await support.post(decide, data=form | {"amount_kopecks": amount})
            assert_error_page(refused, 422)
        # A stale form that still posts roubles as `amount` is refused, not misread (and never a 500).
        stale = await support.post(decide, data=form | {"amount": "1e100000"})
        assert_error_page(stale, 422)
        assert await compensated(db, drop.order_id) == (0, ["open"])

        paid = await support.post(decide, data=form | {"amount_kopecks": f" {VALUE} "})
        assert paid.status_code == 303, paid.text
        assert await compensated(db, drop.order_id) == (VALUE, ["decided"])

        # A second open claim as one from before decisions were final: nothing is left to pay on it.
        async with db.transaction() as uow:
            legacy = await uow.claims.open(
                order_id=drop.order_id,
                customer_id=drop.customer_id,
                kind="damaged",
                comment="",
                at=datetime.now(UTC),
            )
        page = await support.get(page_url)
        assert 'id="nothing-left"' in page.text
        over = await support.post(
            f"/support/claims/{legacy.claim_id}/decision", data=form | {"amount_kopecks": "1"}
        )
        assert_error_page(over, 422)
        assert "remains" in over.text
    assert (await compensated(db, drop.order_id))[0] == VALUE


async def test_a_decided_order_offers_and_takes_no_new_claim_on_its_page(
    client: Client, auth: AuthHeaders, db: Database, live_server: LiveServer, tokens: TokenService
) -> None:
    drop = await delivered(client, auth, items=[item(price=VALUE)])
    path = f"/orders/{drop.order_id}"
    async with browser_like(live_server.url) as customer:
        await sign_in(customer, tokens, path, "customer", drop.customer_id)
        csrf = csrf_of(await customer.get(path))
        opened = await customer.post(f"{path}/claims", data={"csrf": csrf, "comment": "Нет у двери"})
        assert opened.status_code == 303, opened.text
        [claim] = (await compensated(db, drop.order_id))[1]
        assert claim == "open"
        claim_id = (
            await client.get(
                f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("customer", drop.customer_id)
            )
        ).json()["claims"][0]["claimId"]
        decided = await client.post(
            f"/v1/support/claims/{claim_id}/decision",
            json={"decision": "compensate", "amountKopecks": VALUE, "reason": "stolen"},
            headers=auth("support", "agent-page-final"),
        )
        assert decided.status_code == 200, decided.text

        page = await customer.get(path)
        assert 'class="claim-form"' not in page.text
        again = await customer.post(f"{path}/claims", data={"csrf": csrf, "comment": "still not here"})
        assert_error_page(again, 409)
    assert await compensated(db, drop.order_id) == (VALUE, ["decided"])
