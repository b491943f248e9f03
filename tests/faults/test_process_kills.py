"""Processes die mid-work (SIGKILL, no chance to clean up): nothing is lost, nothing is done twice.

- An outbox worker killed while its webhook requests are in flight: after a restart every event
  reaches the receiver, which processes each dedupe key once.
- The API killed in the middle of uploads: no delivery is marked done without its stored photo
  (SHA-256 matching), reconciliation finds and removes the orphans, and retries with the same
  Idempotency-Key complete every upload exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from courier_api.use_cases.maintenance import reconcile
from infra.channels.webhook import new_secret
from infra.database import Database
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.repositories.outbox import dedupe_key
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import Client, DoorDrop, door_drop
from tests.cluster import webhook_env
from tests.conftest import AuthHeaders
from tests.factories import new_id, order_body
from tests.integration.receivers import WebhookReceiver
from tests.processes import service_env, start_api, start_worker, stop

pytestmark = pytest.mark.slow
SECRET = new_secret()
DEADLINE_S = 60.0


async def eventually(probe: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await probe():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S} s: {what}"
        await asyncio.sleep(0.05)  # poll interval


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started: no handler runs, nothing is flushed."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


async def test_worker_killed_while_sending_delivers_everything_once_after_restart(
    client: Client, auth: AuthHeaders, db: Database, settings: Settings, dev_stack: DevStack, tmp_path: Path
) -> None:
    order_ids = [new_id() for _ in range(12)]
    for order_id in order_ids:
        assert (
            await client.put(f"/v1/orders/{order_id}", json=order_body(), headers=auth("service", "oms"))
        ).status_code == 201
    event_ids = []
    async with db.transaction() as uow:
        for order_id in order_ids:
            event_ids.append(
                await uow.outbox.enqueue(
                    event_type="door_drop.completed", payload={"orderId": order_id}, channels=("webhook",)
                )
            )
    keys = {dedupe_key(event_id, "webhook") for event_id in event_ids}

    receiver = WebhookReceiver(SECRET)
    await receiver.start()
    env = webhook_env(settings, dev_stack, receiver, OUTBOX_LEASE_S="2")
    receiver.hold()
    first = start_worker(env, log=tmp_path / "worker-1.log")
    second: subprocess.Popen[bytes] | None = None
    try:

        async def sending() -> bool:
            return receiver.arrivals > 0

        await eventually(sending, "the worker sends")
        kill_group(first)  # mid-send: its requests are held open by the receiver
        receiver.release()  # the receiver now processes what arrived; the dead worker never learns
        second = start_worker(env, log=tmp_path / "worker-2.log")

        async def all_sent() -> bool:
            async with db.transaction() as uow:
                rows = await uow.outbox.for_events(event_ids)
            return all(row.status == "sent" for row in rows)

        await eventually(all_sent, "every event recorded as sent after the restart")
    finally:
        if second is not None:
            stop(second)
        await receiver.stop()
    for key in keys:
        assert len(receiver.accepted_for(key)) == 1, key  # processed once
        assert receiver.requests_for(key) >= 1
    redelivered = [key for key in keys if receiver.requests_for(key) > 1]
    # The receiver's dedupe absorbed every repeat (other tests' events may pass through it too).
    assert set(receiver.duplicates) & keys == set(redelivered)


async def test_api_killed_mid_upload_leaves_no_half_done_delivery(
    client: Client,
    auth: AuthHeaders,
    db: Database,
    store: ObjectStore,
    settings: Settings,
    dev_stack: DevStack,
    tmp_path: Path,
) -> None:
    drops: list[DoorDrop] = [await door_drop(client, auth) for _ in range(10)]
    photos = await asyncio.gather(
        *(asyncio.to_thread(drop.photo, width=2000, height=1500, label_share=0.06) for drop in drops)
    )
    requests = [(drop, data, drop.headers(auth, data)) for drop, data in zip(drops, photos, strict=True)]

    port = free_port()
    env = service_env(settings, s3_credentials=dev_stack.s3_credentials, LOG_LEVEL="WARNING")
    api = start_api(env, port, log=tmp_path / "api-1.log")
    base = f"http://127.0.0.1:{port}"
    outcomes: list[int | str] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:

            async def upload(drop: DoorDrop, data: bytes, headers: dict[str, str]) -> int | str:
                try:
                    answer = await http.post(
                        f"/v1/deliveries/{drop.order_id}/photos", content=data, headers=headers
                    )
                except httpx.TransportError as exc:
                    return type(exc).__name__
                return answer.status_code

            tasks = [asyncio.create_task(upload(*request)) for request in requests]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            kill_group(api)  # in the middle: at least one upload finished, the rest are in flight or queued
            outcomes = [await task for task in tasks]
    finally:
        stop(api)
    assert done
    assert all(
        outcome in (201, "RemoteProtocolError", "ReadError", "ConnectError", "WriteError")
        for outcome in outcomes
    ), outcomes

    # Invariant: a delivery is done only with its stored photo, whose bytes still match.
    for drop, _, _ in requests:
        async with db.transaction() as uow:
            order = await uow.orders.get(drop.order_id)
            attempts = await uow.attempts.for_order(drop.order_id)
        assert order is not None
        if order.status == "left_at_door":
            [accepted] = [a for a in attempts if a.accepted]
            assert accepted.photo_id == order.accepted_photo_id
            assert await store.hash_stored(accepted.original_key) == accepted.sha256
        else:
            assert all(not a.accepted for a in attempts)
        for attempt in attempts:
            assert await store.sha256_of(attempt.original_key) == attempt.sha256

    # Orphans (written to S3, never committed) are found once past the grace period, and removed.
    report = await reconcile(db, store, now=datetime.now(UTC) + timedelta(hours=1))
    assert report.orphans_deleted == len(report.orphans)
    for drop, _, _ in requests:
        stored = {obj.key for obj in await store.list_objects(f"evidence/{drop.order_id}/")}
        async with db.transaction() as uow:
            referenced = {a.original_key for a in await uow.attempts.for_order(drop.order_id)}
        assert stored == referenced

    # The couriers retry with the same keys against a restarted API: each upload completes exactly once.
    restarted = start_api(env, port, log=tmp_path / "api-2.log")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for drop, data, headers in requests:
                answer = await http.post(
                    f"/v1/deliveries/{drop.order_id}/photos", content=data, headers=headers
                )
                assert answer.status_code == 201, answer.text
                assert answer.json()["verdict"] == "accepted"
    finally:
        stop(restarted)
    for drop, _, _ in requests:
        async with db.transaction() as uow:
            attempts = await uow.attempts.for_order(drop.order_id)
        assert len([a for a in attempts if a.accepted]) == 1
        assert len(attempts) == 1, [a.photo_id for a in attempts]
