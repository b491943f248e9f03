"""Claim money on the pages: a decided order offers and accepts no new claim.
The same rules as the JSON API (`tests/api/test_claim_money.py`)."""

from __future__ import annotations

import httpx

from courier_api.auth import TokenService
from infra.database import Database
from tests.api.capture_flow import Client
from tests.api.test_claim_money import VALUE, compensated
from tests.api.test_claims_api import delivered
from tests.conftest import AuthHeaders
from tests.factories import item
from tests.web.conftest import LiveServer
from tests.web.pages import assert_page_headers, browser_like, csrf_of, sign_in


def assert_error_page(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="detail"' in answer.text, "the page says what was wrong"
    assert_page_headers(answer)


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
