"""Rate limits answer 429 with Retry-After, counted in PostgreSQL so every process shares them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient

from courier_api.app import create_app
from courier_api.components.rate_limits import Limit
from infra.devstack import DevStack
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import Client, door_drop
from tests.conftest import AuthHeaders
from tests.factories import new_id
from tests.photo_factory import make_device_key

TIGHT = {
    "upload.courier": Limit(hits=2, window_s=600),
    "upload.device": Limit(hits=100, window_s=600),
    "session.courier": Limit(hits=1, window_s=3600),
    "claim": Limit(hits=1, window_s=3600),
    "device.enroll": Limit(hits=2, window_s=3600),
    "device.challenge": Limit(hits=2, window_s=3600),
}


@pytest.fixture(scope="module")
async def tight(
    settings: Settings, dev_stack: DevStack, store: ObjectStore, rollout: list[int]
) -> AsyncIterator[Client]:
    """The same database and bucket, with limits small enough to reach in a test."""
    app = create_app(settings, s3_credentials=dev_stack.s3_credentials, rate_limits=TIGHT)
    async with AsyncTestClient(app=app) as client:
        yield client


def assert_limited(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["code"] == "rate_limited"
    retry_after = int(answer.headers["retry-after"])
    assert 0 < retry_after <= 3600
    assert answer.json()["retryAfter"] == retry_after


async def test_uploads_per_courier_are_limited(tight: Client, auth: AuthHeaders) -> None:
    drop = await door_drop(tight, auth)
    url = f"/v1/deliveries/{drop.order_id}/photos"
    small = drop.photo(
        width=2000, height=1500, label_share=0.06, blur_radius=8.0
    )  # rejected, so retakes go on
    for _ in range(TIGHT["upload.courier"].hits):
        assert (await tight.post(url, content=small, headers=drop.headers(auth, small))).status_code == 201
    assert_limited(await tight.post(url, content=small, headers=drop.headers(auth, small)))


async def test_capture_sessions_per_courier_are_limited(tight: Client, auth: AuthHeaders) -> None:
    drop = await door_drop(tight, auth)  # opened the courier's one session of the hour
    again = await tight.post(
        f"/v1/deliveries/{drop.order_id}/capture-sessions",
        json={"deviceId": drop.device_id},
        headers=auth("courier", drop.courier_id),
    )
    assert_limited(again)


async def test_claims_per_customer_are_limited(tight: Client, auth: AuthHeaders) -> None:
    drop = await door_drop(tight, auth)
    data = drop.photo(width=2000, height=1500, label_share=0.06)
    accepted = await tight.post(
        f"/v1/deliveries/{drop.order_id}/photos", content=data, headers=drop.headers(auth, data)
    )
    assert accepted.json()["verdict"] == "accepted", accepted.text
    customer = auth("customer", drop.customer_id)
    claims = f"/v1/me/orders/{drop.order_id}/claims"
    assert (await tight.post(claims, json={"kind": "not_received"}, headers=customer)).status_code == 201
    assert_limited(await tight.post(claims, json={"kind": "damaged"}, headers=customer))


async def test_device_enrollments_and_challenges_per_courier_are_limited(
    tight: Client, auth: AuthHeaders
) -> None:
    courier_id = new_id("cour")
    for _ in range(TIGHT["device.enroll"].hits):
        enrolled = await tight.post(
            "/v1/courier/devices",
            json={"publicKey": make_device_key()[1], "platform": "android"},
            headers=auth("courier", courier_id),
        )
        assert enrolled.status_code == 201, enrolled.text
    assert_limited(
        await tight.post(
            "/v1/courier/devices",
            json={"publicKey": make_device_key()[1], "platform": "android"},
            headers=auth("courier", courier_id),
        )
    )
    for _ in range(TIGHT["device.challenge"].hits):
        issued = await tight.post("/v1/courier/devices/challenges", headers=auth("courier", courier_id))
        assert issued.status_code == 201, issued.text
    assert_limited(await tight.post("/v1/courier/devices/challenges", headers=auth("courier", courier_id)))
