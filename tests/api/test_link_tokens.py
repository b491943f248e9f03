"""The token in a notification link opens one order's web page, and nothing else.

The pages' side (a link session sees its one order, view-only) is in tests/web/test_web_sessions.py.
"""

from __future__ import annotations

from courier_api.auth import TokenService
from courier_api.notifications.texts import render
from tests.api.capture_flow import Client, prepare_order
from tests.conftest import AuthHeaders


async def test_link_token_is_refused_by_the_json_api(
    client: Client, auth: AuthHeaders, tokens: TokenService
) -> None:
    order = await prepare_order(client, auth)
    link = tokens.mint_order_link(customer_id=order["customer_id"], order_id=order["order_id"])
    api = await client.get(
        f"/v1/me/orders/{order['order_id']}/delivery", headers={"Authorization": f"Bearer {link}"}
    )
    assert api.status_code == 401
    # Nor is it a page session by itself: pages take only the random id a sign-in gave the browser.
    page = await client.get(f"/orders/{order['order_id']}", headers={"Cookie": f"dd_session={link}"})
    assert page.status_code == 401


def test_rendered_link_carries_the_token() -> None:
    text = render("door_drop.completed", {"orderId": "A-1"}, "en", "https://dd.example", link_token="abc.def")
    assert text.link == "https://dd.example/orders/A-1?token=abc.def"
    assert text.link in text.body
