"""The pages over plain HTTP: sign-in by link, HTML errors, CSRF, security headers, escaping, locale."""

from __future__ import annotations

from datetime import datetime
from http.cookies import SimpleCookie
from zoneinfo import ZoneInfo

from courier_api.auth import TokenService
from tests.api.capture_flow import Client, prepare_order
from tests.api.test_claims_api import delivered
from tests.conftest import AuthHeaders
from tests.web.conftest import LiveServer
from tests.web.pages import (
    assert_page_headers,
    browser_like,
    csrf_of,
    press_continue,
    sign_in,
    sign_in_with,
)


async def test_the_link_token_moves_into_a_strict_http_only_session_and_leaves_the_url(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    drop = await delivered(client, auth)
    path = f"/orders/{drop.order_id}"
    token = tokens.mint(role="customer", sub=drop.customer_id)
    async with browser_like(live_server.url) as http:
        landing = await http.get(path, params={"token": token})
        assert landing.status_code == 200, landing.text
        assert_page_headers(landing)
        pending = SimpleCookie(landing.headers["set-cookie"])["dd_sign_in"]
        assert pending["httponly"] is True
        assert pending["samesite"].lower() == "strict"
        assert pending["path"] == "/session"
        assert not pending["secure"]  # loopback dev; see test_web_sessions for everywhere else
        assert 'content="0;url=/session/continue"' in landing.text
        assert "token" not in landing.text.split("<main>")[1]
        assert (await http.get(path)).status_code == 401  # opening the link signed nobody in

        confirm = await http.get("/session/continue")
        assert confirm.status_code == 200, confirm.text
        assert_page_headers(confirm)
        assert f'data-role="customer" data-sub="{drop.customer_id}"' in confirm.text
        signed_in = await press_continue(http, confirm)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == path
        cookies = SimpleCookie()
        for header in signed_in.headers.get_list("set-cookie"):
            cookies.load(header)
        cookie = cookies["dd_session"]
        assert cookie["httponly"] is True
        assert cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/"
        assert not cookie["secure"]
        assert cookie.value != token  # a random session id, not a bearer token the JSON API takes
        assert cookies["dd_sign_in"]["max-age"] == "0"

        page = await http.get(path)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert_page_headers(page, img_src=f"'self' {live_server.s3_origin}")
        assert 'data-status="left_at_door"' in page.text
        assert "Иван" in page.text
        # The drop's time as a Moscow clock reads it (the order is in MOW), never the UTC clock.
        left_at = page.text.split('id="left-at"><time datetime="')[1].split('"')[0]
        moscow = datetime.fromisoformat(left_at).astimezone(ZoneInfo("Europe/Moscow"))
        assert f"{moscow:%Y-%m-%d %H:%M} MSK</time>" in page.text
        assert f"customer {drop.customer_id}" in page.text  # the header names the session, with sign-out


async def test_without_a_valid_session_the_page_is_a_plain_401_and_others_orders_are_404(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    order = await prepare_order(client, auth)  # no photo needed: nothing here gets past the session
    path = f"/orders/{order['order_id']}"
    async with browser_like(live_server.url) as anonymous:
        for answer in (
            await anonymous.get(path),
            await anonymous.get(path, params={"token": "not-a-jwt"}),
            await anonymous.get(
                path, params={"token": TokenService("x" * 40).mint(role="customer", sub="c")}
            ),
        ):
            assert answer.status_code == 401
            assert answer.headers["content-type"].startswith("text/html")
            assert "set-cookie" not in answer.headers
            assert "Traceback" not in answer.text
            assert_page_headers(answer)
    async with browser_like(live_server.url) as stranger:
        await sign_in(stranger, tokens, path, "customer", "someone-else")
        answer = await stranger.get(path)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert_page_headers(answer)
    async with browser_like(live_server.url) as courier:
        await sign_in(courier, tokens, path, "courier", order["courier_id"])
        assert (await courier.get(path)).status_code == 403
        assert (await courier.get("/admin/incidents")).status_code == 403
    async with browser_like(live_server.url) as support:
        await sign_in(support, tokens, f"/support/orders/{order['order_id']}", "support", "agent-http")
        assert (await support.get("/support/orders/no-such-order")).status_code == 404
        bad = await support.get("/support/orders/bad%20id")
        assert bad.status_code == 400
        assert bad.headers["content-type"].startswith("text/html")


async def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    drop = await delivered(client, auth)
    path = f"/orders/{drop.order_id}"
    async with browser_like(live_server.url) as http:
        await sign_in(http, tokens, path, "customer", drop.customer_id)
        page = await http.get(path)
        token = csrf_of(page)
        for form in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": token[:-1] + "x"}):
            refused = await http.post(f"{path}/claims", data=form)
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"].startswith("text/html")
            assert_page_headers(refused)
        # Another session's token does not fit this session either (same customer, another link).
        async with browser_like(live_server.url) as other:
            other_link = tokens.mint(role="customer", sub=drop.customer_id, ttl_s=3600)
            await sign_in_with(other, path, other_link)
            foreign = await other.post(f"{path}/claims", data={"csrf": token, "comment": "x"})
        assert foreign.status_code == 403
    view = await client.get(
        f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("customer", drop.customer_id)
    )
    assert view.json().get("claims", []) == []

    async with browser_like(live_server.url) as anonymous:
        assert (await anonymous.post(f"{path}/claims", data={"csrf": token})).status_code == 401

    async with browser_like(live_server.url) as http:
        await sign_in(http, tokens, path, "customer", drop.customer_id)
        token = csrf_of(await http.get(path))
        accepted = await http.post(f"{path}/claims", data={"csrf": token, "comment": "Нет у двери"})
        assert accepted.status_code == 303
        assert accepted.headers["location"] == path
        again = await http.post(f"{path}/claims", data={"csrf": token})
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("text/html")
    claims = (
        await client.get(
            f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("customer", drop.customer_id)
        )
    ).json()["claims"]
    assert [claim["kind"] for claim in claims] == ["not_received"]

    async with browser_like(live_server.url) as support:
        await sign_in(support, tokens, f"/support/orders/{drop.order_id}", "support", "agent-csrf")
        decide = f"/support/claims/{claims[0]['claimId']}/decision"
        refused = await support.post(decide, data={"decision": "reject", "reason": "x"})
        assert refused.status_code == 403
    assert (
        await client.get(
            f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("customer", drop.customer_id)
        )
    ).json()["claims"][0]["status"] == "open"


async def test_every_page_carries_the_security_headers_and_escapes_what_people_typed(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    drop = await delivered(client, auth, locale="en")
    hostile = '<script>alert(1)</script>"><img src=x>'
    opened = await client.post(
        f"/v1/me/orders/{drop.order_id}/claims",
        json={"kind": "not_received", "comment": hostile},
        headers=auth("customer", drop.customer_id),
    )
    assert opened.status_code == 201, opened.text
    async with browser_like(live_server.url) as customer:
        await sign_in(customer, tokens, f"/orders/{drop.order_id}", "customer", drop.customer_id)
        page = await customer.get(f"/orders/{drop.order_id}")
        assert_page_headers(page, img_src=f"'self' {live_server.s3_origin}")
        assert '<html lang="en">' in page.text
        assert "Left at your door" in page.text
        assert "Under review" in page.text
    async with browser_like(live_server.url) as support:
        await sign_in(support, tokens, f"/support/orders/{drop.order_id}", "support", "agent-headers")
        page = await support.get(f"/support/orders/{drop.order_id}")
        assert page.status_code == 200, page.text
        assert_page_headers(page, img_src=f"'self' {live_server.s3_origin}")
        assert hostile not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x&gt;" in page.text
        # Each attempt shows the attestation level of the device that made it (bare keys in this app).
        assert 'attestation <strong class="attestation-none">none</strong> (unattested key)' in page.text
        bar = await support.post(
            f"/support/customers/{drop.customer_id}/bar",
            data={"csrf": csrf_of(page), "back": drop.order_id, "reason": "confirmed fraud"},
        )
        assert bar.status_code == 303
        assert_page_headers(bar)
        assert 'id="barred">Barred' in (await support.get(f"/support/orders/{drop.order_id}")).text
        lift = await support.post(
            f"/support/customers/{drop.customer_id}/lift", data={"csrf": csrf_of(page), "back": drop.order_id}
        )
        assert lift.status_code == 303
    async with browser_like(live_server.url) as admin:
        await sign_in(admin, tokens, "/admin/incidents", "admin", "admin-1")
        page = await admin.get("/admin/incidents")
        assert page.status_code == 200, page.text
        assert_page_headers(page)
        # The couriers' advisories table once, in the page's body; the title is plain text.
        assert page.text.count('<table id="couriers">') == 1
        title = page.text.split("<title>", 1)[1].split("</title>", 1)[0]
        assert "<" not in title, title
        bad = await admin.get("/admin/incidents", params={"from": "yesterday"})
        assert bad.status_code == 422
        assert_page_headers(bad)
    async with browser_like(live_server.url) as anyone:
        css = await anyone.get("/static/web.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert css.headers["x-content-type-options"] == "nosniff"
