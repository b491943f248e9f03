"""Browser sessions over real HTTP: sign-in is an explicit same-origin step, sign-out revokes the session
in PostgreSQL, notification links are short-lived and view-only, cookies are Secure outside loopback dev.
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import httpx
import jwt
import msgspec

from courier_api.auth import TokenService
from infra.devstack import DevStack
from infra.settings import Settings
from tests.api.capture_flow import Client, prepare_order
from tests.api.test_claims_api import delivered
from tests.conftest import AuthHeaders
from tests.web.conftest import LiveServer, serving
from tests.web.pages import (
    browser_like,
    csrf_of,
    open_link,
    press_continue,
    replaces_of,
    same_origin,
    sign_in,
    sign_in_with,
)

DAY_S = 24 * 3600


def set_cookies(response: httpx.Response) -> SimpleCookie:
    cookies = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookies.load(header)
    return cookies


def error_code(page: httpx.Response) -> str:
    """The problem code an HTML error page shows (the JSON API's code for the same refusal)."""
    marker = 'data-code="'
    assert marker in page.text, page.text
    return page.text.split(marker, 1)[1].split('"', 1)[0]


async def test_a_crafted_customer_link_never_replaces_a_signed_in_agent_without_confirmation(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    order = await prepare_order(client, auth)
    support_page = f"/support/orders/{order['order_id']}"
    # The attacker's own customer account and order: signing the agent into it is the login CSRF.
    crafted = tokens.mint(role="customer", sub="attacker-1")
    async with browser_like(live_server.url) as agent:
        await sign_in(agent, tokens, support_page, "support", "agent-login-csrf")
        agent_cookie = agent.cookies["dd_session"]

        confirm = await open_link(agent, f"/orders/{order['order_id']}", crafted)
        # Opening the link changed nothing: the agent is still the agent.
        assert agent.cookies["dd_session"] == agent_cookie
        assert (await agent.get(support_page)).status_code == 200
        assert 'id="signed-in-now"' in confirm.text
        assert "support agent-login-csrf" in confirm.text
        assert "customer attacker-1" in confirm.text
        assert replaces_of(confirm) == "support:agent-login-csrf"

        # Anything but a same-origin POST of this page's form, confirming who is replaced, is refused.
        csrf = csrf_of(confirm)
        confirmed = {"csrf": csrf, "replaces": "support:agent-login-csrf"}
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site", **same_origin(agent)},
            {"Sec-Fetch-Site": "same-site"},
            {},  # neither header: cannot show it came from our page
        ):
            refused = await agent.post("/session", data=confirmed, headers=headers)
            assert refused.status_code == 403, (headers, refused.text)
            assert error_code(refused) == "request.cross_origin"
        for form in ({"replaces": "support:agent-login-csrf"}, {**confirmed, "csrf": "0" * 64}):
            refused = await agent.post("/session", data=form, headers=same_origin(agent))
            assert refused.status_code == 403
            assert error_code(refused) == "csrf.rejected"
        # Same origin, right token, but not confirming the agent by name: asked again, nothing changes.
        for replaces in ("", "support:someone-else"):
            asked = await agent.post(
                "/session", data={"csrf": csrf, "replaces": replaces}, headers=same_origin(agent)
            )
            assert asked.status_code == 200
            assert 'id="signed-in-now"' in asked.text
            assert "set-cookie" not in asked.headers
        assert agent.cookies["dd_session"] == agent_cookie
        assert (await agent.get(support_page)).status_code == 200

        # The explicit confirmation switches, and the agent's old session is revoked on the way.
        switched = await press_continue(agent, confirm)
        assert switched.status_code == 303
        assert switched.headers["location"] == f"/orders/{order['order_id']}"
        assert agent.cookies["dd_session"] != agent_cookie
        assert (await agent.get(support_page)).status_code == 403
    async with browser_like(live_server.url) as replay:
        replay.cookies.set("dd_session", agent_cookie)
        assert (await replay.get(support_page)).status_code == 401


async def test_sign_out_revokes_the_session_so_its_cookie_is_refused_afterwards(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    drop = await delivered(client, auth)
    path = f"/support/orders/{drop.order_id}"
    async with browser_like(live_server.url) as agent:
        await sign_in(agent, tokens, path, "support", "agent-sign-out")
        page = await agent.get(path)
        assert page.status_code == 200
        assert 'id="sign-out"' in page.text
        old_cookie, old_csrf = agent.cookies["dd_session"], csrf_of(page)

        for form, headers in (
            ({}, same_origin(agent)),
            ({"csrf": old_csrf}, {"Origin": "https://evil.example"}),
            ({"csrf": old_csrf}, {}),
        ):
            refused = await agent.post("/session/sign-out", data=form, headers=headers)
            assert refused.status_code == 403
        assert (await agent.get(path)).status_code == 200

        signed_out = await agent.post(
            "/session/sign-out", data={"csrf": old_csrf}, headers=same_origin(agent)
        )
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/session/signed-out"
        cleared = set_cookies(signed_out)["dd_session"]
        assert cleared["max-age"] == "0"
        assert cleared.value == ""
        assert "dd_session" not in agent.cookies
        assert (await agent.get("/session/signed-out")).status_code == 200
        assert (await agent.get(path)).status_code == 401

    # The cookie copied before signing out (a shared computer, a stolen cookie) opens nothing now.
    async with browser_like(live_server.url) as replay:
        replay.cookies.set("dd_session", old_cookie)
        assert (await replay.get(path)).status_code == 401
        bar = await replay.post(
            f"/support/customers/{drop.customer_id}/bar",
            data={"csrf": old_csrf, "back": drop.order_id, "reason": "replayed"},
        )
        assert bar.status_code == 401
        assert (await replay.post("/session/sign-out", data={"csrf": old_csrf})).status_code == 403


async def test_a_notification_link_stops_working_a_day_after_it_was_sent(
    client: Client, auth: AuthHeaders, live_server: LiveServer, settings: Settings
) -> None:
    order = await prepare_order(client, auth)
    path = f"/orders/{order['order_id']}"
    now = int(time.time())

    def link_sent(ago_s: int, *, lifetime_s: int) -> str:
        # Exactly what the worker put into a notification `ago_s` seconds ago.
        claims = {
            "sub": order["customer_id"],
            "role": "customer",
            "order": order["order_id"],
            "iat": now - ago_s,
            "exp": now - ago_s + lifetime_s,
        }
        return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")

    assert settings.link_token_ttl_s == DAY_S
    async with browser_like(live_server.url) as customer:
        # Sent 25 h ago: refused, even when the token itself claims the old 15-day lifetime.
        for stale in (link_sent(25 * 3600, lifetime_s=15 * DAY_S), link_sent(25 * 3600, lifetime_s=DAY_S)):
            refused = await customer.get(path, params={"token": stale})
            assert refused.status_code == 401
            assert "set-cookie" not in refused.headers
        # Sent 23 h ago: still opens the page.
        await sign_in_with(customer, path, link_sent(23 * 3600, lifetime_s=DAY_S))
        assert (await customer.get(path)).status_code == 200


async def test_a_link_session_is_view_only_and_a_claim_needs_a_full_sign_in(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    drop = await delivered(client, auth, locale="en")
    path = f"/orders/{drop.order_id}"
    link = tokens.mint_order_link(customer_id=drop.customer_id, order_id=drop.order_id)
    async with browser_like(live_server.url) as customer:
        await sign_in_with(customer, path, link)
        page = await customer.get(path)
        assert page.status_code == 200
        assert 'data-status="left_at_door"' in page.text
        assert 'id="not-there"' not in page.text
        assert 'id="sign-in-to-claim"' in page.text
        assert "view only" in page.text

        refused = await customer.post(f"{path}/claims", data={"csrf": csrf_of(page), "comment": "x"})
        assert refused.status_code == 403
        assert error_code(refused) == "auth.fresh_sign_in_required"
        delivery = await client.get(
            f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("customer", drop.customer_id)
        )
        assert delivery.json().get("claims", []) == []

        # A normal customer sign-in (same person: no confirmation needed) may open the claim.
        await sign_in(customer, tokens, path, "customer", drop.customer_id)
        page = await customer.get(path)
        assert 'id="not-there"' in page.text
        opened = await customer.post(f"{path}/claims", data={"csrf": csrf_of(page), "comment": "not there"})
        assert opened.status_code == 303, opened.text

        # Opening the link again keeps the full session rather than downgrading it to view-only.
        kept = await press_continue(customer, await open_link(customer, path, link))
        assert kept.status_code == 303
        assert "dd_session" not in set_cookies(kept)
        assert "view only" not in (await customer.get(path)).text


async def test_a_link_session_opens_only_the_order_it_was_sent_for(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService
) -> None:
    order = await prepare_order(client, auth)
    other = await prepare_order(client, auth, customer_id=order["customer_id"])
    link = tokens.mint_order_link(customer_id=order["customer_id"], order_id=order["order_id"])
    async with browser_like(live_server.url) as customer:
        await sign_in_with(customer, f"/orders/{order['order_id']}", link)
        page = await customer.get(f"/orders/{order['order_id']}")
        assert page.status_code == 200
        assert order["order_id"] in page.text
        # The same customer's other order: the link opens only the order it was sent for.
        assert (await customer.get(f"/orders/{other['order_id']}")).status_code == 404


async def test_cookies_are_secure_unless_the_server_is_loopback_dev(
    client: Client,
    auth: AuthHeaders,
    settings: Settings,
    dev_stack: DevStack,
    tokens: TokenService,
    live_server: LiveServer,
) -> None:
    order = await prepare_order(client, auth)
    path = f"/orders/{order['order_id']}"
    token = tokens.mint(role="customer", sub=order["customer_id"])
    # Same loopback socket, but PUBLIC_BASE_URL says where browsers really are: not a dev box.
    for public in ("http://door-drop.internal:8000", "https://door-drop.example"):
        deployed = msgspec.structs.replace(settings, public_base_url=public)
        with serving(deployed, dev_stack) as server:
            async with browser_like(server.url) as http:
                landing = await http.get(path, params={"token": token})
                assert landing.status_code == 200
                pending = set_cookies(landing)["dd_sign_in"]
                assert pending["secure"] is True, public
                # The client would not send a Secure cookie over plain http; a browser behind TLS would.
                jar = {"Cookie": f"dd_sign_in={pending.value}"}
                confirm = await http.get("/session/continue", headers=jar)
                assert confirm.status_code == 200
                signed_in = await http.post(
                    "/session",
                    data={"csrf": csrf_of(confirm), "replaces": ""},
                    headers={**jar, **same_origin(http)},
                )
                assert signed_in.status_code == 303, signed_in.text
                assert set_cookies(signed_in)["dd_session"]["secure"] is True, public
    # The default PUBLIC_BASE_URL (http on loopback) on a loopback socket: dev, plain http works.
    async with browser_like(live_server.url) as dev:
        landing = await dev.get(path, params={"token": token})
        assert not set_cookies(landing)["dd_sign_in"]["secure"]
