"""The proof cannot outlive the facts it proves (opt-in, bar, eligibility, session lifetime), the
claim window starts when the drop was accepted and the customer told, and a courier never learns
why a door drop is not active. (Two uploads racing past the duplicate check: tests/reliability.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from courier_api.app import create_app
from infra.database import Database
from infra.devstack import DevStack
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import Client, DoorDrop, door_drop
from tests.api.outbox_runs import WEBHOOK_SECRET, deliver_notifications
from tests.conftest import AuthHeaders
from tests.factories import order_body
from tests.integration.receivers import WebhookReceiver
from tests.photo_factory import DEFAULT_ADDRESS

PHOTOS = "/v1/deliveries/{}/photos"


class MovableClock:
    """The app's clock: real time plus an offset that a test moves (never sleeps)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="module")
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def at_real_time(clock: MovableClock) -> MovableClock:
    clock.offset = timedelta(0)
    return clock


@pytest.fixture(scope="module")
async def timed(
    settings: Settings, dev_stack: DevStack, store: ObjectStore, clock: MovableClock, rollout: list[int]
) -> AsyncIterator[Client]:
    """The same database and bucket as every API test, through an app whose clock the test moves."""
    app = create_app(settings, s3_credentials=dev_stack.s3_credentials, clock=clock)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def upload(client: Client, auth: AuthHeaders, drop: DoorDrop, **photo: Any) -> Any:
    data = drop.photo(**photo)
    return await client.post(PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data))


async def evidence(client: Client, auth: AuthHeaders, order_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/support/orders/{order_id}/evidence", headers=auth("support", "agent-1"))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def assert_nothing_recorded(client: Client, auth: AuthHeaders, order_id: str) -> None:
    seen = await evidence(client, auth, order_id)
    assert seen["status"] == "pending"
    assert seen["attempts"] == []


# --- point 2: the upload re-checks opt-in, bar and eligibility -----------------------------------


async def test_an_upload_after_the_customer_opted_out_is_refused(
    timed: Client, auth: AuthHeaders, at_real_time: MovableClock
) -> None:
    drop = await door_drop(timed, auth)
    opted_out = await timed.put(
        f"/v1/orders/{drop.order_id}/door-drop",
        json={"enabled": False},
        headers=auth("customer", drop.customer_id),
    )
    assert opted_out.status_code == 200, opted_out.text
    answer = await upload(timed, auth, drop)
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "door_drop.not_enabled"
    await assert_nothing_recorded(timed, auth, drop.order_id)


async def test_an_upload_after_a_fraud_bar_is_refused_and_reads_like_an_opt_out(
    timed: Client, auth: AuthHeaders, at_real_time: MovableClock
) -> None:
    drop = await door_drop(timed, auth)
    barred = await timed.post(
        f"/v1/support/customers/{drop.customer_id}/door-drop-bar",
        json={"reason": "two confirmed false claims"},
        headers=auth("support", "agent-1"),
    )
    assert barred.status_code == 201, barred.text
    answer = await upload(timed, auth, drop)
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "door_drop.not_enabled"
    assert "bar" not in answer.text.lower()
    assert "fraud" not in answer.text.lower()
    await assert_nothing_recorded(timed, auth, drop.order_id)


async def test_an_upload_after_the_order_lost_eligibility_is_refused_with_the_reasons(
    timed: Client, auth: AuthHeaders, at_real_time: MovableClock
) -> None:
    drop = await door_drop(timed, auth)
    lat, lon = DEFAULT_ADDRESS
    cash = order_body(
        customer_id=drop.customer_id, label_code=drop.label_code, lat=lat, lon=lon, payment="cash_on_delivery"
    )
    switched = await timed.put(f"/v1/orders/{drop.order_id}", json=cash, headers=auth("service", "oms"))
    assert switched.status_code == 200, switched.text
    answer = await upload(timed, auth, drop)
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["code"] == "door_drop.not_eligible"
    assert "not_prepaid" in {reason["code"] for reason in problem["reasons"]}
    await assert_nothing_recorded(timed, auth, drop.order_id)


# --- point 3: uploads have a deadline; the drop is dated by the server -----------------------------


async def test_an_upload_after_the_session_and_its_grace_is_refused(
    timed: Client, auth: AuthHeaders, settings: Settings, clock: MovableClock
) -> None:
    clock.offset = timedelta(0)
    drop = await door_drop(timed, auth)
    photo_taken = datetime.now(UTC)
    clock.offset = timedelta(seconds=settings.capture_session_ttl_s + settings.capture_upload_grace_s + 60)
    answer = await upload(timed, auth, drop, captured_at=photo_taken)
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "capture_session.expired"
    await assert_nothing_recorded(timed, auth, drop.order_id)


async def test_a_late_upload_within_the_grace_is_dated_when_accepted_not_when_captured(
    timed: Client, auth: AuthHeaders, settings: Settings, clock: MovableClock
) -> None:
    clock.offset = timedelta(0)
    drop = await door_drop(timed, auth)
    photo_taken = datetime.now(UTC).replace(microsecond=0)
    clock.offset = timedelta(seconds=settings.capture_session_ttl_s + settings.capture_upload_grace_s - 600)
    before = clock()
    answer = await upload(timed, auth, drop, captured_at=photo_taken)
    assert answer.json()["verdict"] == "accepted", answer.text
    seen = await evidence(timed, auth, drop.order_id)
    accepted_at = datetime.fromisoformat(seen["leftAt"])
    assert before <= accepted_at <= clock()
    assert datetime.fromisoformat(seen["capturedAt"]) == photo_taken
    assert datetime.fromisoformat(seen["claimDeadline"]) == accepted_at + timedelta(
        days=settings.claim_window_days
    )
    customer = await timed.get(
        f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("customer", drop.customer_id)
    )
    assert datetime.fromisoformat(customer.json()["leftAt"]) == accepted_at


async def claim(client: Client, auth: AuthHeaders, drop: DoorDrop) -> Any:
    return await client.post(
        f"/v1/me/orders/{drop.order_id}/claims",
        json={"kind": "not_received"},
        headers=auth("customer", drop.customer_id),
    )


async def test_a_claim_is_never_too_late_while_the_customer_has_not_been_told(
    timed: Client, auth: AuthHeaders, settings: Settings, clock: MovableClock
) -> None:
    clock.offset = timedelta(0)
    drop = await door_drop(timed, auth)
    assert (await upload(timed, auth, drop)).json()["verdict"] == "accepted"
    # The notification is still queued (no worker ran): a window past its length has not closed.
    clock.offset = timedelta(days=settings.claim_window_days + 1)
    answer = await claim(timed, auth, drop)
    assert answer.status_code == 201, answer.text


async def test_the_claim_window_counts_from_a_late_notification(
    timed: Client, auth: AuthHeaders, settings: Settings, clock: MovableClock, db: Database
) -> None:
    clock.offset = timedelta(0)
    window = timedelta(days=settings.claim_window_days)
    drop = await door_drop(timed, auth)
    assert (await upload(timed, auth, drop)).json()["verdict"] == "accepted"
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    await receiver.start()
    try:
        told_at = datetime.now(UTC) + timedelta(days=3)  # the worker was down for three days
        await deliver_notifications(db, settings, at=told_at, webhook=receiver.url)
    finally:
        await receiver.stop()
    seen = await evidence(timed, auth, drop.order_id)
    assert datetime.fromisoformat(seen["customerNotifiedAt"]) == told_at
    assert datetime.fromisoformat(seen["claimDeadline"]) == told_at + window

    clock.offset = window + timedelta(days=3, hours=1)  # past the window from the drop, not from the notice
    too_late = await claim(timed, auth, drop)
    assert too_late.status_code == 409, too_late.text
    assert too_late.json()["code"] == "claim.window_closed"
    clock.offset = window + timedelta(days=2)
    assert (await claim(timed, auth, drop)).status_code == 201


async def test_without_channels_the_window_counts_from_acceptance(
    timed: Client, auth: AuthHeaders, settings: Settings, clock: MovableClock, db: Database
) -> None:
    clock.offset = timedelta(0)
    drop = await door_drop(timed, auth)
    assert (await upload(timed, auth, drop)).json()["verdict"] == "accepted"
    await deliver_notifications(db, settings, at=datetime.now(UTC), webhook=None)  # every row skipped
    clock.offset = timedelta(days=settings.claim_window_days) + timedelta(hours=1)
    refused = await claim(timed, auth, drop)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "claim.window_closed"
    clock.offset = timedelta(days=settings.claim_window_days) - timedelta(hours=1)
    assert (await claim(timed, auth, drop)).status_code == 201


# --- point 5: the courier sees whether a door drop is active, never why not -------------------------


async def test_a_courier_sees_only_whether_the_door_drop_is_active(
    timed: Client, auth: AuthHeaders, at_real_time: MovableClock
) -> None:
    drop = await door_drop(timed, auth)
    url = f"/v1/orders/{drop.order_id}/door-drop"
    active = await timed.get(url, headers=auth("courier", drop.courier_id))
    assert active.json() == {"orderId": drop.order_id, "active": True}

    await timed.post(
        f"/v1/support/customers/{drop.customer_id}/door-drop-bar",
        json={"reason": "confirmed fraud"},
        headers=auth("support", "agent-1"),
    )
    courier_view = await timed.get(url, headers=auth("courier", drop.courier_id))
    assert courier_view.json() == {"orderId": drop.order_id, "active": False}
    session = await timed.post(
        f"/v1/deliveries/{drop.order_id}/capture-sessions",
        json={"deviceId": drop.device_id},
        headers=auth("courier", drop.courier_id),
    )
    assert session.status_code == 409
    assert session.json()["code"] == "door_drop.not_enabled"
    assert "customer_barred" not in session.text

    # The customer and support still see why.
    for role, sub in (("customer", drop.customer_id), ("support", "agent-1")):
        full = await timed.get(url, headers=auth(role, sub))  # type: ignore[arg-type]
        codes = {reason["code"] for reason in full.json()["decision"]["reasons"]}
        assert "customer_barred" in codes, full.text
