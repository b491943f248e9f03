"""The dev mailbox: the real channels send to its SMTP sink and webhook receiver; `/dev/notifications` shows it.

Only an app handed a mailbox (what `courier-api dev` builds) has the page; `serve`'s app answers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from courier_api.app import create_app
from courier_api.asgi import app_from_environment
from infra.channels import DeliveryFailed, Notification
from infra.channels.email import EmailChannel
from infra.channels.webhook import WebhookChannel, new_secret
from infra.devstack import DevStack
from infra.devstack.mailbox import DevMailbox
from infra.settings import Settings
from tests.web.pages import assert_page_headers

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def notice(*, subject: str, body: str) -> Notification:
    event = uuid.uuid4()
    return Notification(
        dedupe_key=f"{event}:any",
        event_id=event,
        event_type="door_drop.completed",
        occurred_at=datetime.now(UTC),
        order_id="demo-mow-1",
        customer_id="customer-1",
        locale="ru",
        email="customer-1@example.com",
        phone=None,
        subject=subject,
        body=body,
        link="http://127.0.0.1:8000/orders/demo-mow-1?token=abc",
        data={"orderId": "demo-mow-1"},
    )


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[DevMailbox, list[str]]]:
    lines: list[str] = []
    box = DevMailbox(webhook_secret=new_secret(), announce=lines.append)
    await box.start()
    try:
        yield box, lines
    finally:
        await box.stop()


async def test_the_page_shows_emails_as_read_and_webhooks_with_their_signature_verdict(
    settings: Settings, dev_stack: DevStack, rollout: list[int], mailbox: tuple[DevMailbox, list[str]]
) -> None:
    box, lines = mailbox
    assert box.smtp_port is not None
    assert box.webhook_url is not None
    email = EmailChannel(host="127.0.0.1", port=box.smtp_port, tls="none", sender="no-reply@door-drop.local")
    await email.send(
        notice(
            subject=f"Заказ {HOSTILE}",
            body=f"Текст {HOSTILE}\nhttp://127.0.0.1:8000/orders/demo-mow-1?token=abc",
        )
    )
    signed = WebhookChannel(url=box.webhook_url, secrets=[box.webhook_secret])
    forged = WebhookChannel(url=box.webhook_url, secrets=[new_secret()])
    try:
        await signed.send(notice(subject="signed", body=HOSTILE))
        with pytest.raises(DeliveryFailed, match="HTTP 401"):
            await forged.send(notice(subject="forged", body="forged"))
    finally:
        await signed.aclose()
        await forged.aclose()
    assert len(lines) == 3
    assert all("\n" not in line for line in lines)
    assert lines[0].startswith(f"email   to customer-1@example.com: Заказ {HOSTILE}")
    assert "(signature valid): signed" in lines[1]
    assert "(SIGNATURE INVALID): forged" in lines[2]

    app = create_app(settings, s3_credentials=dev_stack.s3_credentials, dev_mailbox=box)
    async with AsyncTestClient(app=app) as client:
        page = await client.get("/dev/notifications")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert_page_headers(page)
    html = page.text
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in html
    assert '<dd class="from">no-reply@door-drop.local</dd>' in html
    assert '<dd class="to">customer-1@example.com</dd>' in html
    # The email's link is a link, the rest of its text is text.
    link = "http://127.0.0.1:8000/orders/demo-mow-1?token=abc"
    assert f'<a href="{link}">{link}</a>' in html
    assert html.count('data-signature="valid"') == 1
    assert html.count('data-signature="invalid"') == 1
    assert "signature INVALID" in html


async def test_serve_has_no_dev_mailbox_page(
    app: Litestar, client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    assert (await client.get("/dev/notifications")).status_code == 404
    # `serve`'s own factory, from the environment as production sets it.
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "S3_BUCKET": settings.s3_bucket,
        "JWT_SECRET": settings.jwt_secret,
    }.items():
        monkeypatch.setenv(name, value)
    served = app_from_environment()
    paths = {route.path for route in served.routes}
    assert "/orders/{order_id:str}" in paths  # the pages are there
    assert not any(path.startswith("/dev") for path in paths)
