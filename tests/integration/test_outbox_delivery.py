"""The outbox end to end: real PostgreSQL, a real signed-webhook receiver and a real SMTP server.

Time is a fake clock injected into the worker, so backoff and leases are driven without sleeping.
The database is shared with the rest of the run: a worker here may deliver other tests' events,
so every assertion is about the events created here.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import msgspec
import pytest
import standardwebhooks
from litestar import Litestar
from litestar.testing import AsyncTestClient

from courier_api.auth import TokenService
from courier_api.notifications.texts import IncompletePayload, render
from courier_api.notifications.worker import OutboxWorker, channels_from_settings
from infra.channels import Channel
from infra.channels.webhook import decode_secret, new_secret, sign_webhook, verify_webhook
from infra.database import Database
from infra.devstack.ports import free_port
from infra.errors import ConfigError
from infra.repositories.outbox import OutboxEntry, dedupe_key
from infra.settings import Settings, load_settings
from tests.conftest import AuthHeaders
from tests.factories import new_id, order_body
from tests.integration.receivers import SmtpReceiver, WebhookReceiver

SECRET = new_secret()
PUBLIC = "https://door-drop.example"
TERMINAL = {"sent", "skipped", "dead"}


class FakeClock:
    """The worker's notion of now; tests move it forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(SECRET)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def wired(settings: Settings, webhook: WebhookReceiver, smtp: SmtpReceiver) -> Settings:
    return msgspec.structs.replace(
        settings,
        webhook_url=webhook.url,
        webhook_secrets=(SECRET,),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",  # the plain test relay; TLS and AUTH are tested in test_smtp_tls_auth.py
        public_base_url=PUBLIC + "/",
        outbox_max_attempts=4,
    )


@asynccontextmanager
async def open_channels(settings: Settings) -> AsyncIterator[dict[str, Channel]]:
    channels = channels_from_settings(settings)
    try:
        yield channels
    finally:
        for channel in channels.values():
            await channel.aclose()


def worker(
    db: Database, settings: Settings, channels: dict[str, Channel], clock: FakeClock, **kwargs: Any
) -> OutboxWorker:
    return OutboxWorker(db, settings, channels, clock=clock, rng=random.Random(7), **kwargs)


async def create_order(db: Database, *, email: str | None = "c@example.com", locale: str = "ru") -> str:
    order_id = new_id()
    body = order_body(email=email, locale=locale)
    body["customer"]["phone"] = "+7 900 000-00-00"
    async with db.transaction() as uow:
        await uow.orders.upsert(
            order_id=order_id,
            customer_id=body["customer"]["id"],
            city=body["city"],
            label_code=body["labelCode"],
            snapshot=body,
        )
    return order_id


async def enqueue(
    db: Database, event_type: str, payload: dict[str, Any], channels: Sequence[str] = ("webhook", "email")
) -> uuid.UUID:
    async with db.transaction() as uow:
        return await uow.outbox.enqueue(event_type=event_type, payload=payload, channels=channels)


async def rows(db: Database, *event_ids: uuid.UUID) -> dict[str, OutboxEntry]:
    async with db.transaction() as uow:
        return {entry.dedupe_key: entry for entry in await uow.outbox.for_events(event_ids)}


async def drain(outbox_worker: OutboxWorker, db: Database, *event_ids: uuid.UUID) -> dict[str, OutboxEntry]:
    """Run batches until every row of these events is settled or due later."""
    for _ in range(50):
        if not await outbox_worker.run_once():
            break
    return await rows(db, *event_ids)


async def test_door_drop_reaches_webhook_and_email_in_the_customers_language(
    db: Database, wired: Settings, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    ru_order = await create_order(db, email="ru@example.com", locale="ru")
    en_order = await create_order(db, email="en@example.com", locale="en")
    ru_event = await enqueue(db, "door_drop.completed", {"orderId": ru_order})
    en_event = await enqueue(db, "door_drop.completed", {"orderId": en_order})

    async with open_channels(wired) as channels:
        settled = await drain(worker(db, wired, channels, FakeClock()), db, ru_event, en_event)

    assert {entry.status for entry in settled.values()} == {"sent"}
    assert all(entry.attempts == 1 and entry.sent_at is not None for entry in settled.values())

    ru_hook = webhook.accepted_for(dedupe_key(ru_event, "webhook"))
    en_hook = webhook.accepted_for(dedupe_key(en_event, "webhook"))
    assert len(ru_hook) == len(en_hook) == 1
    assert ru_hook[0].event_type == "door_drop.completed"
    ru_body = ru_hook[0].body
    assert ru_body["eventId"] == str(ru_event)
    assert ru_body["orderId"] == ru_order
    assert ru_body["locale"] == "ru"
    assert ru_body["url"].startswith(f"{PUBLIC}/orders/{ru_order}?token=")
    link_token = ru_body["url"].split("?token=", 1)[1]
    scoped = TokenService(wired.jwt_secret).verify(f"Bearer {link_token}", allow_order_links=True)
    assert (scoped.role, scoped.order_scope) == ("customer", ru_order)
    assert ru_body["title"] == f"Заказ {ru_order} оставлен у двери"
    assert ru_body["url"] in ru_body["text"]
    assert en_hook[0].body["title"] == f"Your order {en_order} was left at your door"
    assert webhook.bad_signatures == 0

    [ru_mail] = smtp.messages_for(dedupe_key(ru_event, "email"))
    [en_mail] = smtp.messages_for(dedupe_key(en_event, "email"))
    assert ru_mail["To"] == "ru@example.com"
    assert ru_mail["Subject"] == f"Заказ {ru_order} оставлен у двери"
    assert f"{PUBLIC}/orders/{ru_order}" in ru_mail.get_content()
    assert "Курьер оставил ваш заказ" in ru_mail.get_content()
    assert en_mail["To"] == "en@example.com"
    assert en_mail["Subject"] == f"Your order {en_order} was left at your door"
    assert f"{PUBLIC}/orders/{en_order}" in en_mail.get_content()


async def test_the_notification_link_lives_link_token_ttl_s_from_the_send(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    short = msgspec.structs.replace(wired, link_token_ttl_s=3600)
    for settings in (wired, short):
        order_id = await create_order(db)
        event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, channels=("webhook",))
        clock = FakeClock()
        async with open_channels(settings) as channels:
            await drain(worker(db, settings, channels, clock), db, event)
        [hook] = webhook.accepted_for(dedupe_key(event, "webhook"))
        token = hook.body["url"].split("?token=", 1)[1]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["order"] == order_id
        assert claims["iat"] == int(clock.now.timestamp())
        assert claims["exp"] - claims["iat"] == settings.link_token_ttl_s
    assert wired.link_token_ttl_s == 24 * 3600  # the default: a day, not the claim window


async def test_gateway_outage_is_retried_with_backoff_until_it_recovers(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    order_id = await create_order(db)
    event = await enqueue(db, "claim.opened", {"orderId": order_id, "claimId": "cl-1"}, channels=["webhook"])
    key = dedupe_key(event, "webhook")
    webhook.fail_next(2, status=503)
    clock = FakeClock()

    async with open_channels(wired) as channels:
        outbox_worker = worker(db, wired, channels, clock)
        delays = []
        for attempt in (1, 2):
            entry = (await drain(outbox_worker, db, event))[key]
            assert (entry.status, entry.attempts) == ("pending", attempt)
            assert entry.last_error == "webhook answered HTTP 503"
            delay = (entry.next_attempt_at - clock.now).total_seconds()
            base = wired.outbox_backoff_base_s * 2 ** (attempt - 1)
            assert base * 0.5 <= delay <= base
            delays.append(delay)
            # Not due yet: another pass at the same moment leaves it alone.
            assert (await drain(outbox_worker, db, event))[key].attempts == attempt
            clock.advance_to(entry.next_attempt_at)
        settled = (await drain(outbox_worker, db, event))[key]

    assert (settled.status, settled.attempts) == ("sent", 3)
    assert webhook.requests_for(key) == 3
    assert len(webhook.accepted_for(key)) == 1
    assert webhook.accepted_for(key)[0].body["title"] == f"Мы получили вашу заявку по заказу {order_id}"


async def test_two_workers_at_once_send_every_dedupe_key_exactly_once(
    db: Database, wired: Settings, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    order_id = await create_order(db)
    events = [await enqueue(db, "door_drop.completed", {"orderId": order_id}) for _ in range(30)]
    clock = FakeClock()

    async with open_channels(wired) as channels:
        first = worker(db, wired, channels, clock, batch_size=4, worker_id="worker-a")
        second = worker(db, wired, channels, clock, batch_size=4, worker_id="worker-b")

        async def work(outbox_worker: OutboxWorker) -> int:
            total = 0
            while claimed := await outbox_worker.run_once():
                total += claimed
            return total

        claimed = await asyncio.gather(work(first), work(second))

    assert all(count > 0 for count in claimed), claimed
    settled = await rows(db, *events)
    assert len(settled) == 60
    assert {entry.status for entry in settled.values()} == {"sent"}
    for event in events:
        assert webhook.requests_for(dedupe_key(event, "webhook")) == 1
        assert len(smtp.messages_for(dedupe_key(event, "email"))) == 1
    assert webhook.duplicates == []


async def test_a_crashed_workers_lease_runs_out_and_another_worker_delivers(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    order_id = await create_order(db)
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, channels=["webhook"])
    key = dedupe_key(event, "webhook")
    clock = FakeClock()
    async with db.transaction() as uow:
        claimed = await uow.outbox.claim_batch(worker_id="crashed", limit=1000, lease_s=30, now=clock.now)
    assert key in {entry.dedupe_key for entry in claimed}

    async with open_channels(wired) as channels:
        survivor = worker(db, wired, channels, clock)
        assert (await drain(survivor, db, event))[key].status == "sending"
        clock.advance(31)
        settled = (await drain(survivor, db, event))[key]

    assert (settled.status, settled.attempts) == ("sent", 2)
    assert webhook.requests_for(key) == 1
    async with db.transaction() as uow:
        # The crashed worker waking up late cannot overwrite the survivor's outcome.
        assert not await uow.outbox.mark_failed(
            settled.id, worker_id="crashed", now=clock.now, next_attempt_at=clock.now, error="late"
        )


async def test_dead_letter_after_max_attempts_is_listed_for_support_and_can_be_retried(
    db: Database,
    wired: Settings,
    webhook: WebhookReceiver,
    client: AsyncTestClient[Litestar],
    auth: AuthHeaders,
) -> None:
    order_id = await create_order(db)
    event = await enqueue(
        db,
        "claim.decided",
        {"orderId": order_id, "claimId": "cl-9", "decision": "compensate", "amountKopecks": 15000},
        ["webhook"],
    )
    key = dedupe_key(event, "webhook")
    webhook.fail_next(1000, status=502)
    clock = FakeClock()

    async with open_channels(wired) as channels:
        outbox_worker = worker(db, wired, channels, clock)
        for _ in range(wired.outbox_max_attempts):
            entry = (await drain(outbox_worker, db, event))[key]
            clock.advance_to(entry.next_attempt_at)
        dead = (await rows(db, event))[key]
        assert (dead.status, dead.attempts) == ("dead", wired.outbox_max_attempts)
        assert dead.last_error == "gave up after 4 attempt(s): webhook answered HTTP 502"
        assert webhook.requests_for(key) == wired.outbox_max_attempts

        listed = await client.get("/v1/support/outbox/dead?limit=500", headers=auth("support", "sup-1"))
        assert listed.status_code == 200, listed.text
        [item] = [item for item in listed.json()["items"] if item["dedupeKey"] == key]
        assert item["id"] == dead.id
        assert item["orderId"] == order_id
        assert item["eventType"] == "claim.decided"
        assert item["lastError"] == dead.last_error
        assert listed.json()["counts"]["dead"] >= 1
        forbidden = await client.get("/v1/support/outbox/dead", headers=auth("courier", "c-1"))
        assert forbidden.status_code == 403

        retried = await client.post(f"/v1/support/outbox/{dead.id}/retry", headers=auth("admin", "adm-1"))
        assert retried.status_code == 200, retried.text
        assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
        again = await client.post(f"/v1/support/outbox/{dead.id}/retry", headers=auth("support", "sup-1"))
        assert (again.status_code, again.json()["code"]) == (409, "outbox.not_dead")
        missing = await client.post("/v1/support/outbox/999999999/retry", headers=auth("support", "sup-1"))
        assert (missing.status_code, missing.json()["code"]) == (404, "outbox_entry.not_found")

        webhook.fail_next(0)
        clock.advance_to(datetime.now(UTC))
        settled = (await drain(outbox_worker, db, event))[key]

    assert (settled.status, settled.attempts) == ("sent", 1)
    [delivery] = webhook.accepted_for(key)
    assert delivery.body["title"] == f"Решение по заявке на заказ {order_id}"
    assert "Мы удовлетворили вашу заявку cl-9" in delivery.body["text"]


async def test_run_forever_delivers_and_stops_when_asked(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    order_id = await create_order(db)
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, ["webhook"])
    stop = asyncio.Event()
    async with open_channels(wired) as channels:
        running = asyncio.create_task(OutboxWorker(db, wired, channels).run_forever(stop))
        delivery = await asyncio.wait_for(webhook.wait_for(dedupe_key(event, "webhook")), timeout=10)
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    assert delivery.body["orderId"] == order_id
    assert (await rows(db, event))[dedupe_key(event, "webhook")].status == "sent"


async def test_a_refusing_gateway_dead_letters_at_once(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    order_id = await create_order(db)
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, ["webhook"])
    webhook.fail_next(1, status=400)
    async with open_channels(wired) as channels:
        settled = await drain(worker(db, wired, channels, FakeClock()), db, event)
    entry = settled[dedupe_key(event, "webhook")]
    assert (entry.status, entry.attempts) == ("dead", 1)


async def test_customer_without_email_skips_email_and_still_gets_the_webhook(
    db: Database, wired: Settings, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    order_id = await create_order(db, email=None, locale="en")
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id})
    async with open_channels(wired) as channels:
        settled = await drain(worker(db, wired, channels, FakeClock()), db, event)

    email = settled[dedupe_key(event, "email")]
    assert (email.status, email.last_error) == ("skipped", "the customer has no email address")
    assert smtp.messages_for(dedupe_key(event, "email")) == []
    assert settled[dedupe_key(event, "webhook")].status == "sent"
    assert len(webhook.accepted_for(dedupe_key(event, "webhook"))) == 1


async def test_smtp_down_does_not_hold_up_the_webhook(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    smtp_down = msgspec.structs.replace(wired, smtp_port=free_port())
    order_id = await create_order(db)
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id})
    async with open_channels(smtp_down) as channels:
        settled = await drain(worker(db, smtp_down, channels, FakeClock()), db, event)

    email = settled[dedupe_key(event, "email")]
    assert (email.status, email.attempts) == ("pending", 1)
    assert email.last_error is not None
    assert email.last_error.startswith("smtp unreachable")
    assert "@" not in email.last_error
    assert settled[dedupe_key(event, "webhook")].status == "sent"
    assert len(webhook.accepted_for(dedupe_key(event, "webhook"))) == 1


async def test_unconfigured_channels_are_skipped_not_failed(db: Database, settings: Settings) -> None:
    order_id = await create_order(db)
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id})
    bare = msgspec.structs.replace(settings, webhook_url=None, smtp_host=None)
    async with open_channels(bare) as channels:
        assert channels == {}
        settled = await drain(worker(db, bare, channels, FakeClock()), db, event)
    assert {entry.status for entry in settled.values()} == {"skipped"}
    assert settled[dedupe_key(event, "webhook")].last_error == "webhook channel is not configured"


async def test_an_event_for_an_unknown_order_goes_straight_to_dead(db: Database, wired: Settings) -> None:
    event = await enqueue(db, "door_drop.completed", {"orderId": new_id()}, ["webhook"])
    async with open_channels(wired) as channels:
        settled = await drain(worker(db, wired, channels, FakeClock()), db, event)
    entry = settled[dedupe_key(event, "webhook")]
    assert entry.status == "dead"
    assert entry.last_error == "gave up after 1 attempt(s): the event's order does not exist"


async def test_enqueue_is_part_of_the_callers_transaction_and_replays_are_no_ops(db: Database) -> None:
    event_id = uuid.uuid4()

    async def enqueue_then_fail() -> None:
        async with db.transaction() as uow:
            await uow.outbox.enqueue(event_type="claim.opened", payload={"orderId": "x"}, event_id=event_id)
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await enqueue_then_fail()
    assert await rows(db, event_id) == {}

    for _ in range(2):
        async with db.transaction() as uow:
            assert (
                await uow.outbox.enqueue(
                    event_type="claim.opened", payload={"orderId": "x"}, event_id=event_id
                )
                == event_id
            )
    assert set(await rows(db, event_id)) == {f"{event_id}:webhook", f"{event_id}:email"}


def signed_headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    keys = [decode_secret(secret) for secret in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(keys, msg_id, timestamp, body),
    }


def test_webhook_signatures_refuse_tampering_stale_timestamps_and_wrong_secrets() -> None:
    now = datetime.now(UTC)
    stamp = int(now.timestamp())
    body = b'{"eventId":"e"}'
    headers = signed_headers([SECRET], "e:webhook", stamp, body)
    assert verify_webhook(SECRET, headers, body, now, 300)
    assert verify_webhook(SECRET, {name.upper(): value for name, value in headers.items()}, body, now, 300)
    assert not verify_webhook(SECRET, headers, body + b" ", now, 300)
    assert not verify_webhook(new_secret(), headers, body, now, 300)
    assert not verify_webhook(SECRET, headers, body, now + timedelta(seconds=301), 300)
    assert not verify_webhook(SECRET, headers, body, now - timedelta(seconds=301), 300)
    for name in headers:
        assert not verify_webhook(SECRET, {**headers, name: ""}, body, now, 300), name
    for stamp_text in ("not-a-number", f" {stamp}", f"+{stamp}", f"{stamp}.0", "9" * 5000):
        assert not verify_webhook(SECRET, {**headers, "webhook-timestamp": stamp_text}, body, now, 300)
    # Malformed entries are refused, not raised on (a receiver would answer 500 to anyone).
    for garbage in ("v1", "v1,", "v1,%%%", "v2," + headers["webhook-signature"][3:], "x" * 10_000):
        assert not verify_webhook(SECRET, {**headers, "webhook-signature": garbage}, body, now, 300)
    assert verify_webhook(SECRET, {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}, body, now, 300)
    with pytest.raises(ValueError, match="whsec_"):
        verify_webhook("plain-old-secret", headers, body, now, 300)


def test_a_captured_request_replayed_under_a_new_id_is_refused() -> None:
    now = datetime.now(UTC)
    body = b'{"eventId":"e1","orderId":"o1"}'
    captured = signed_headers([SECRET], "e1:webhook", int(now.timestamp()), body)
    assert verify_webhook(SECRET, captured, body, now)
    # Within the tolerance, under a fresh id the receiver has never seen: the old scheme accepted this.
    assert not verify_webhook(SECRET, {**captured, "webhook-id": "e2:webhook"}, body, now + timedelta(seconds=5))


async def test_a_captured_webhook_replayed_to_the_receiver_under_a_new_id_is_not_acted_on(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    order_id = await create_order(db)
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, ["webhook"])
    key = dedupe_key(event, "webhook")
    async with open_channels(wired) as channels:
        await drain(worker(db, wired, channels, FakeClock()), db, event)
    [(headers, body)] = [(h, b) for h, b in webhook.captured if h.get("webhook-id") == key]
    assert headers["webhook-signature"].startswith("v1,")

    async with httpx.AsyncClient() as attacker:
        replays = {
            new_id: await attacker.post(webhook.url, content=body, headers={**headers, "webhook-id": new_id})
            for new_id in (f"{uuid.uuid4()}:webhook", key + "x")
        }
        same_id = await attacker.post(webhook.url, content=body, headers=headers)

    assert {response.status_code for response in replays.values()} == {401}
    assert not any(webhook.accepted_for(new_id) for new_id in replays)
    # Under its own id the replay is a duplicate: acknowledged, never acted on twice.
    assert same_id.status_code == 200
    assert len(webhook.accepted_for(key)) == 1
    assert webhook.duplicates.count(key) == 1


async def test_rotation_signs_with_every_active_secret_and_either_receiver_verifies(
    db: Database, wired: Settings
) -> None:
    old, new = new_secret(), new_secret()
    rotating = msgspec.structs.replace(wired, webhook_secrets=(old, new))
    receivers = {"old": WebhookReceiver(old), "new": WebhookReceiver(new), "other": WebhookReceiver(new_secret())}
    for receiver in receivers.values():
        await receiver.start()
    try:
        keys = {}
        for name, receiver in receivers.items():
            settings = msgspec.structs.replace(rotating, webhook_url=receiver.url)
            order_id = await create_order(db)
            event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, ["webhook"])
            keys[name] = dedupe_key(event, "webhook")
            async with open_channels(settings) as channels:
                await drain(worker(db, settings, channels, FakeClock()), db, event)
    finally:
        for receiver in receivers.values():
            await receiver.stop()

    for name in ("old", "new"):
        assert len(receivers[name].accepted_for(keys[name])) == 1, name
        assert receivers[name].bad_signatures == 0
        [(headers, _)] = receivers[name].captured
        assert [entry[:3] for entry in headers["webhook-signature"].split(" ")] == ["v1,", "v1,"]
    assert receivers["other"].accepted == []
    assert receivers["other"].bad_signatures == 1


async def test_our_requests_verify_with_the_standard_webhooks_reference_library(
    db: Database, wired: Settings, webhook: WebhookReceiver
) -> None:
    order_id = await create_order(db)
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, ["webhook"])
    async with open_channels(wired) as channels:
        await drain(worker(db, wired, channels, FakeClock()), db, event)
    [(headers, body)] = [(h, b) for h, b in webhook.captured if h.get("webhook-id") == dedupe_key(event, "webhook")]

    payload = standardwebhooks.Webhook(SECRET).verify(body, headers)
    assert payload["orderId"] == order_id
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(body, {**headers, "webhook-id": "forged:webhook"})


def test_webhook_secrets_are_read_as_a_list_and_checked_at_start() -> None:
    env = {"DATABASE_URL": "postgresql://x/y", "S3_BUCKET": "b", "JWT_SECRET": "j" * 32}
    first, second = new_secret(), new_secret().rstrip("=")  # unpadded base64 is accepted too
    assert load_settings(env | {"WEBHOOK_SECRETS": f" {first}, {second} "}).webhook_secrets == (first, second)
    for bad in ("not-whsec", "whsec_!!!!", "whsec_" + "QUFB" * 4, f"{first} whsec_"):
        with pytest.raises(ConfigError) as raised:
            load_settings(env | {"WEBHOOK_SECRETS": bad})
        assert raised.value.variable == "WEBHOOK_SECRETS"
        assert first not in str(raised.value)
    # The old variable is refused by name, not silently ignored.
    with pytest.raises(ConfigError) as replaced:
        load_settings(env | {"WEBHOOK_SECRET": "whsec-old-plain-secret"})
    assert replaced.value.variable == "WEBHOOK_SECRET"
    assert "WEBHOOK_SECRETS" in replaced.value.problem


def test_texts_cover_each_event_in_both_languages() -> None:
    for event_type, payload in [
        ("door_drop.completed", {"orderId": "A-1"}),
        ("claim.opened", {"orderId": "A-1", "claimId": "c-1"}),
        ("claim.decided", {"orderId": "A-1", "claimId": "c-1", "decision": "reject"}),
        ("claim.decided", {"orderId": "A-1", "claimId": "c-1", "decision": "partially"}),
    ]:
        ru = render(event_type, payload, "ru", PUBLIC)
        en = render(event_type, payload, "en", PUBLIC)
        assert ru.link == en.link == f"{PUBLIC}/orders/A-1"
        assert ru.link in ru.body
        assert en.link in en.body
        assert "A-1" in ru.subject
        assert "A-1" in en.subject
        assert ru.subject != en.subject
        assert "{" not in ru.body + en.body
    assert render("door_drop.completed", {"orderId": "A-1"}, "de", PUBLIC).subject.startswith("Заказ")
    with pytest.raises(IncompletePayload):
        render("claim.opened", {"orderId": "A-1"}, "en", PUBLIC)


def test_webhook_url_without_a_secret_stops_the_start(settings: Settings) -> None:
    half = msgspec.structs.replace(settings, webhook_url="https://gw.example/hook", webhook_secrets=())
    with pytest.raises(ConfigError) as raised:
        channels_from_settings(half)
    assert raised.value.variable == "WEBHOOK_SECRETS"
