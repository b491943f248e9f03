"""Scale-out: two `courier-api serve` processes and two `courier-api worker` processes on one database
and one bucket, as separate machines would run them.

A capture session opened on one process is used on the other; the same Idempotency-Key is
retried on both, one after the other and at the same moment. Each photo must be stored once
(one attempt row, one original, one customer copy) and each notification sent once (the real
webhook receiver sees its dedupe key in exactly one request). Readiness and delivery are polled
with deadlines, never waited for by sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from infra.database import Database
from infra.devstack import DevStack
from infra.repositories.outbox import dedupe_key
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.cluster import Cluster, running_cluster
from tests.conftest import AuthHeaders
from tests.factories import new_id, order_body
from tests.photo_factory import DEFAULT_ADDRESS, PhotoSpec, make_device_key, make_photo

pytestmark = pytest.mark.slow

DEADLINE_S = 30.0


@pytest.fixture(scope="module")
async def cluster(
    settings: Settings,
    dev_stack: DevStack,
    store: ObjectStore,
    rollout: list[int],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    async with running_cluster(settings, dev_stack, tmp_path_factory.mktemp("scale-out")) as running:
        yield running


async def _eventually(probe: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await probe():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S} s: {what}"
        await asyncio.sleep(0.05)  # poll interval


@dataclass(frozen=True)
class Upload:
    order_id: str
    path: str
    body: bytes
    headers: dict[str, str]


async def _door_drop_upload(session_api: httpx.AsyncClient, auth: AuthHeaders) -> Upload:
    """Order, courier, opt-in, device and capture session through `session_api`; a signed photo."""
    order_id, customer_id, courier_id = new_id(), new_id("cust"), new_id("cour")
    label = f"DD{uuid.uuid4().hex[:10].upper()}"
    lat, lon = DEFAULT_ADDRESS
    service = auth("service", "oms")
    steps = [
        await session_api.put(
            f"/v1/orders/{order_id}",
            json=order_body(customer_id=customer_id, label_code=label, lat=lat, lon=lon),
            headers=service,
        ),
        await session_api.put(
            f"/v1/orders/{order_id}/courier", json={"courierId": courier_id}, headers=service
        ),
        await session_api.put(
            f"/v1/orders/{order_id}/door-drop", json={"enabled": True}, headers=auth("customer", customer_id)
        ),
    ]
    for step in steps:
        assert step.is_success, step.text
    key, public_b64 = make_device_key()
    device = await session_api.post(
        "/v1/courier/devices",
        json={"publicKey": public_b64, "platform": "android"},
        headers=auth("courier", courier_id),
    )
    assert device.status_code == 201, device.text
    opened = await session_api.post(
        f"/v1/deliveries/{order_id}/capture-sessions",
        json={"deviceId": device.json()["deviceId"]},
        headers=auth("courier", courier_id),
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    spec = PhotoSpec(
        label_text=label,
        nonce=session["nonce"],
        captured_at=datetime.now(UTC),
        seed=uuid.UUID(session["sessionId"]).int % 1_000_000,  # a distinct scene per order
    )
    data = await asyncio.to_thread(make_photo, spec)
    signature = base64.b64encode(key.sign(hashlib.sha256(data).digest())).decode("ascii")
    return Upload(
        order_id=order_id,
        path=f"/v1/deliveries/{order_id}/photos",
        body=data,
        headers={
            **auth("courier", courier_id),
            "Content-Type": "image/jpeg",
            "X-Capture-Session": session["sessionId"],
            "X-Capture-Signature": signature,
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )


async def _keys(store: ObjectStore, prefix: str) -> list[str]:
    return [stored.key for stored in await store.list_objects(prefix)]


async def _stored_once(upload: Upload, photo_id: str, db: Database, store: ObjectStore) -> None:
    async with db.transaction() as uow:
        attempts = await uow.attempts.for_order(upload.order_id)
        order = await uow.orders.get(upload.order_id)
    assert [str(a.photo_id) for a in attempts] == [photo_id]
    assert order is not None
    assert order.status == "left_at_door"
    assert await _keys(store, f"evidence/{upload.order_id}/") == [
        f"evidence/{upload.order_id}/{photo_id}.jpg"
    ]
    assert await _keys(store, f"customer-copies/{upload.order_id}/") == [
        f"customer-copies/{upload.order_id}/{photo_id}.jpg"
    ]


async def _notified_once(photo_id: str, cluster: Cluster, db: Database) -> None:
    event_id = uuid.UUID(photo_id)
    key = dedupe_key(event_id, "webhook")

    async def sent() -> bool:
        async with db.transaction() as uow:
            rows = [row for row in await uow.outbox.for_events([event_id]) if row.channel == "webhook"]
        return len(rows) == 1 and rows[0].status == "sent"

    await _eventually(sent, f"webhook {key} recorded as sent")
    # Sent and recorded: no worker can pick the row up again, so the count below is final.
    assert cluster.webhook.requests_for(key) == 1
    [delivery] = cluster.webhook.accepted_for(key)
    assert delivery.event_type == "door_drop.completed"
    assert key not in cluster.webhook.duplicates


async def test_session_on_one_process_upload_and_retries_on_the_other(
    cluster: Cluster, auth: AuthHeaders, db: Database, store: ObjectStore
) -> None:
    first_api, second_api = cluster.apis
    async with (
        httpx.AsyncClient(base_url=first_api, timeout=60.0) as first,
        httpx.AsyncClient(base_url=second_api, timeout=60.0) as second,
    ):
        upload = await _door_drop_upload(first, auth)
        answers = [
            await second.post(upload.path, content=upload.body, headers=upload.headers),
            await first.post(upload.path, content=upload.body, headers=upload.headers),
            await second.post(upload.path, content=upload.body, headers=upload.headers),
        ]
    assert [answer.status_code for answer in answers] == [201, 201, 201], [a.text for a in answers]
    first_answer = answers[0].json()
    assert first_answer["verdict"] == "accepted", first_answer["checks"]
    assert all(answer.json() == first_answer for answer in answers)

    await _stored_once(upload, first_answer["photoId"], db, store)
    await _notified_once(first_answer["photoId"], cluster, db)


async def test_the_same_key_sent_to_both_processes_at_once_is_stored_and_notified_once(
    cluster: Cluster, auth: AuthHeaders, db: Database, store: ObjectStore
) -> None:
    first_api, second_api = cluster.apis
    async with (
        httpx.AsyncClient(base_url=first_api, timeout=60.0) as first,
        httpx.AsyncClient(base_url=second_api, timeout=60.0) as second,
    ):
        upload = await _door_drop_upload(second, auth)
        racing = await asyncio.gather(
            first.post(upload.path, content=upload.body, headers=upload.headers),
            second.post(upload.path, content=upload.body, headers=upload.headers),
        )
        # After the race, a retry on either process answers what the winner recorded.
        retries = [
            await first.post(upload.path, content=upload.body, headers=upload.headers),
            await second.post(upload.path, content=upload.body, headers=upload.headers),
        ]
    assert [r.status_code for r in retries] == [201, 201], [r.text for r in retries]
    recorded = retries[0].json()
    assert recorded["verdict"] == "accepted", recorded["checks"]
    assert retries[1].json() == recorded
    # The winner's reply is what both retries replay; the loser stored nothing that stays.
    assert any(r.status_code == 201 and r.json() == recorded for r in racing), [r.text for r in racing]
    await _stored_once(upload, recorded["photoId"], db, store)
    await _notified_once(recorded["photoId"], cluster, db)

    # The request that lost the race replays the winner's answer (same Idempotency-Key, same body).
    assert [r.status_code for r in racing] == [201, 201], [r.text for r in racing]
    assert all(r.json() == recorded for r in racing)
