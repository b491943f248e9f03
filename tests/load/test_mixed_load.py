"""Couriers uploading and customers reading at the same time, against two API processes and two
outbox workers sharing one PostgreSQL and one S3 server; then a full audit of database against S3
and the webhook receiver. Bounded in count and time; loopback only."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import httpx
import pytest

from infra.database import Database
from infra.devstack import DevStack
from infra.repositories.outbox import dedupe_key
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import Client, DoorDrop, door_drop
from tests.cluster import running_cluster
from tests.conftest import AuthHeaders

pytestmark = pytest.mark.slow

COURIERS = 6
ORDERS_PER_COURIER = 4
TIME_LIMIT_S = 90.0


async def test_concurrent_uploads_and_reads_lose_and_duplicate_nothing(
    client: Client,
    auth: AuthHeaders,
    db: Database,
    store: ObjectStore,
    settings: Settings,
    dev_stack: DevStack,
    tmp_path: Path,
) -> None:
    drops: list[DoorDrop] = [await door_drop(client, auth) for _ in range(COURIERS * ORDERS_PER_COURIER)]
    photos = await asyncio.gather(
        *(asyncio.to_thread(drop.photo, width=2000, height=1500, label_share=0.06) for drop in drops)
    )
    uploads = [(drop, data, drop.headers(auth, data)) for drop, data in zip(drops, photos, strict=True)]
    routes = [uploads[n::COURIERS] for n in range(COURIERS)]  # each courier works through their route

    unexpected: list[str] = []
    upload_latency: list[float] = []
    reads = 0
    async with running_cluster(settings, dev_stack, tmp_path) as cluster:
        deadline = time.monotonic() + TIME_LIMIT_S
        apis = itertools.cycle(cluster.apis)
        async with httpx.AsyncClient(timeout=60) as http:
            done = asyncio.Event()

            async def courier(route: list[tuple[DoorDrop, bytes, dict[str, str]]]) -> None:
                for drop, data, headers in route:
                    started = time.perf_counter()
                    answer = await http.post(
                        f"{next(apis)}/v1/deliveries/{drop.order_id}/photos", content=data, headers=headers
                    )
                    upload_latency.append(time.perf_counter() - started)
                    if answer.status_code != 201 or answer.json()["verdict"] != "accepted":
                        unexpected.append(f"upload {drop.order_id}: {answer.status_code} {answer.text[:200]}")

            async def customer(drop: DoorDrop) -> None:
                nonlocal reads
                headers = auth("customer", drop.customer_id)
                while not done.is_set() and time.monotonic() < deadline:
                    answer = await http.get(
                        f"{next(apis)}/v1/me/orders/{drop.order_id}/delivery", headers=headers
                    )
                    reads += 1
                    if answer.status_code != 200:
                        unexpected.append(f"read {drop.order_id}: {answer.status_code} {answer.text[:200]}")
                    await asyncio.sleep(0.2)  # a person refreshing a page, not a timing wait

            readers = [asyncio.create_task(customer(drop)) for drop in drops[:: max(1, len(drops) // 8)]]
            started = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(courier(route) for route in routes)), TIME_LIMIT_S)
            elapsed = time.perf_counter() - started
            done.set()
            await asyncio.gather(*readers)

        db_attempts = {}
        for drop in drops:
            async with db.transaction() as uow:
                db_attempts[drop.order_id] = await uow.attempts.for_order(drop.order_id)
        # The notification's event id is the accepted photo's id.
        keys = [
            dedupe_key(attempt.photo_id, "webhook")
            for attempts in db_attempts.values()
            for attempt in attempts
        ]
        while not all(len(cluster.webhook.accepted_for(key)) == 1 for key in keys):
            assert time.monotonic() < deadline + 30, "notifications not all delivered"
            await asyncio.sleep(0.05)  # poll interval
        duplicates = list(cluster.webhook.duplicates)

    assert unexpected == []
    assert reads > 0
    for drop in drops:
        attempts = db_attempts[drop.order_id]
        assert len(attempts) == 1, drop.order_id  # no lost and no duplicated photo
        [attempt] = attempts
        assert attempt.accepted
        assert {o.key for o in await store.list_objects(f"evidence/{drop.order_id}/")} == {
            attempt.original_key
        }
        assert {o.key for o in await store.list_objects(f"customer-copies/{drop.order_id}/")} == {
            attempt.customer_copy_key
        }
        assert await store.hash_stored(attempt.original_key) == attempt.sha256
    assert duplicates == []  # in the normal case nothing was even sent twice
    upload_latency.sort()
    print(  # figures for the README reliability table (pytest -s)
        f"\nload: {len(drops)} uploads in {elapsed:.1f} s ({len(drops) / elapsed:.1f}/s, "
        f"p50 {upload_latency[len(upload_latency) // 2] * 1000:.0f} ms, p max {upload_latency[-1] * 1000:.0f} ms), "
        f"{reads} customer reads, 0 unexpected errors"
    )
