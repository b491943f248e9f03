"""The pages in headless Chromium: the customer's link, the claim, support's decision, the admin chart."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from courier_api.auth import TokenService
from tests.api.capture_flow import Client
from tests.api.test_claims_api import delivered
from tests.conftest import AuthHeaders
from tests.factories import item
from tests.web.conftest import LiveServer

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

TIMEOUT_MS = 10_000
PHOTO_LOADED = "img => img.complete && img.naturalWidth > 0"


def watch_csp(page: Page) -> list[str]:
    """Collects the browser's CSP refusals; a page that needs one more source than it sends shows up here."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return refused


async def test_customer_opens_the_link_reports_it_is_not_there_and_sees_support_decide(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService, browser: Browser
) -> None:
    from playwright.async_api import expect

    drop = await delivered(client, auth, locale="en", items=[item(price=120_000)])
    order_url = f"{live_server.url}/orders/{drop.order_id}"
    link = f"{order_url}?token={tokens.mint(role='customer', sub=drop.customer_id)}"

    customer = await browser.new_context()
    support = await browser.new_context()
    try:
        page = await customer.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        refused = watch_csp(page)
        # Clicked in a mail client: a cross-site navigation, where SameSite=Strict cookies are held back.
        await page.set_content(f'<a id="mail-link" href="{html.escape(link)}">Your order</a>')
        await page.click("#mail-link")
        await page.wait_for_url(f"{live_server.url}/session/continue")
        assert "token" not in page.url
        await expect(page.locator("#continue-as")).to_contain_text(f"customer {drop.customer_id}")
        await page.click("#continue")
        await page.wait_for_url(order_url)
        assert "token" not in page.url
        await expect(page.locator("#status")).to_have_text("Left at your door")
        await expect(page.locator("#courier")).to_have_text("Иван")
        photo = page.locator("#photo")
        await expect(photo).to_be_visible()
        await photo.evaluate("img => img.decode()")
        assert await photo.evaluate(PHOTO_LOADED)

        await page.click("#not-there")
        await page.wait_for_url(order_url)
        await expect(page.locator(".claim .state")).to_have_text("Under review")
        await expect(page.locator("#not-there")).to_have_count(0)

        agent = await support.new_page()
        agent.set_default_timeout(TIMEOUT_MS)
        refused += watch_csp(agent)
        support_url = f"{live_server.url}/support/orders/{drop.order_id}"
        await agent.goto(f"{support_url}?token={tokens.mint(role='support', sub='agent-browser')}")
        await agent.wait_for_url(f"{live_server.url}/session/continue")
        await agent.click("#continue")
        await agent.wait_for_url(support_url)
        checks = agent.locator("tr.check")
        assert await checks.count() > 0
        await expect(agent.locator('tr.check[data-passed="false"]')).to_have_count(0)
        await expect(agent.locator("#stored-match")).to_have_text("stored object matches")
        assert await agent.locator("#accepted-photo").evaluate(PHOTO_LOADED)
        await expect(agent.locator("#audit .audit-entry").first).to_be_visible()
        await expect(agent.locator("#audit")).to_contain_text("evidence.view")

        claim = agent.locator('.claim[data-claim-status="open"]')
        await claim.locator("form.compensate input[name=amount_kopecks]").fill("120000")
        await claim.locator("form.compensate input[name=reason]").fill("Neighbour took it; courier confirmed")
        await claim.locator("button.compensate").click()
        await agent.wait_for_url(support_url)
        await expect(agent.locator('.claim[data-claim-status="decided"] .decision')).to_contain_text(
            "compensate 1\u202f200.00 ₽ by agent-browser"
        )

        await page.reload()
        await expect(page.locator(".claim .decision")).to_have_text(
            "Claim approved: we will pay you 1\u202f200.00 ₽"
        )
        assert refused == []
    finally:
        await customer.close()
        await support.close()


async def test_admin_sees_the_incident_chart_per_city(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService, browser: Browser
) -> None:
    from playwright.async_api import expect

    await delivered(client, auth, city="KZN")
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        refused = watch_csp(page)
        url = f"{live_server.url}/admin/incidents"
        await page.goto(f"{url}?token={tokens.mint(role='admin', sub='admin-browser')}")
        await page.wait_for_url(f"{live_server.url}/session/continue")
        await page.click("#continue")
        await page.wait_for_url(url)
        chart = page.locator("svg#incident-chart")
        await expect(chart).to_be_visible()
        await expect(chart.locator('g.city[data-city="KZN"] text.legend')).to_have_text("KZN")
        assert await chart.locator('g.city[data-city="KZN"] circle').count() >= 1
        await expect(page.locator('#cities tr[data-city="KZN"]')).to_be_visible()
        # The stylesheet loaded (style-src 'self'): the chart's frame is drawn by it.
        assert await chart.evaluate("svg => getComputedStyle(svg).borderTopStyle") == "solid"
        assert refused == []
    finally:
        await context.close()


async def test_a_crafted_link_asks_before_replacing_the_agent_and_sign_out_ends_the_session(
    client: Client, auth: AuthHeaders, live_server: LiveServer, tokens: TokenService, browser: Browser
) -> None:
    from playwright.async_api import expect

    drop = await delivered(client, auth)
    support_url = f"{live_server.url}/support/orders/{drop.order_id}"
    crafted = (
        f"{live_server.url}/orders/{drop.order_id}?token={tokens.mint(role='customer', sub='attacker-2')}"
    )
    context = await browser.new_context()
    try:
        agent = await context.new_page()
        agent.set_default_timeout(TIMEOUT_MS)
        await agent.goto(f"{support_url}?token={tokens.mint(role='support', sub='agent-crafted')}")
        await agent.click("#continue")
        await agent.wait_for_url(support_url)

        # The crafted link arrives cross-site (a mail, a chat): the page names both people and waits.
        await agent.set_content(f'<a id="crafted" href="{html.escape(crafted)}">Look at this</a>')
        await agent.click("#crafted")
        await agent.wait_for_url(f"{live_server.url}/session/continue")
        await expect(agent.locator("#signed-in-now")).to_contain_text("support agent-crafted")
        await expect(agent.locator("#signed-in-now")).to_contain_text("customer attacker-2")
        await agent.goto(support_url)  # not confirmed: still the agent
        await expect(agent.locator("#signed-in-as")).to_have_text("support agent-crafted")

        await agent.click("#sign-out")
        await agent.wait_for_url(f"{live_server.url}/session/signed-out")
        await expect(agent.locator("#signed-out")).to_be_visible()
        answer = await agent.goto(support_url)
        assert answer is not None
        assert answer.status == 401
    finally:
        await context.close()
