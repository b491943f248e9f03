"""Policy and bar changes reach every API process: at once in the process that made them, within the
notification delay in the others, and at once everywhere while the change feed is down."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from courier_api.app import create_app
from courier_api.components.policy_catalog import PolicyCatalog
from infra.change_feed import ChangeFeed
from infra.database import Database
from infra.devstack import DevStack
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import Client
from tests.conftest import AuthHeaders
from tests.factories import item


@pytest.fixture
async def other_process(
    settings: Settings, dev_stack: DevStack, store: ObjectStore, rollout: list[int]
) -> AsyncIterator[Client]:
    """A second app instance with its own pool and change feed, as another API process would have."""
    app = create_app(settings, s3_credentials=dev_stack.s3_credentials)
    async with AsyncTestClient(app=app) as client:
        services = app.state.services
        deadline = time.monotonic() + 10
        while not services.catalog._feed.live:
            assert time.monotonic() < deadline, "change feed never connected"
            await asyncio.sleep(0.02)  # poll interval
        yield client


def order_of(customer: str) -> dict[str, object]:
    return {
        "customer": {"id": customer},
        "city": "MOW",
        "deliveryMethod": "courier",
        "payment": "prepaid",
        "labelCode": "L",
        "address": {"text": "a", "lat": 55.7, "lon": 37.6},
        "items": [item()],
    }


async def reasons(client: Client, auth: AuthHeaders, customer: str) -> list[str]:
    answer = await client.post(
        "/v1/eligibility/check", json={"order": order_of(customer)}, headers=auth("service", "oms")
    )
    assert answer.status_code == 200, answer.text
    return [reason["code"] for reason in answer.json()["reasons"]]


async def eventually(client: Client, auth: AuthHeaders, customer: str, expected: list[str]) -> None:
    deadline = time.monotonic() + 5
    while (found := await reasons(client, auth, customer)) != expected:
        assert time.monotonic() < deadline, f"still {found}, expected {expected}"
        await asyncio.sleep(0.01)  # poll interval: the notification is on its way


async def test_a_bar_set_in_one_process_reaches_the_other(
    client: Client, other_process: Client, auth: AuthHeaders
) -> None:
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    assert await reasons(other_process, auth, customer) == []  # the other process has loaded its memory
    bar = f"/v1/support/customers/{customer}/door-drop-bar"
    assert (await client.post(bar, json={"reason": "fraud"}, headers=auth("support", "s"))).status_code == 201
    assert await reasons(client, auth, customer) == ["customer_barred"]  # the writer: at once
    await eventually(other_process, auth, customer, ["customer_barred"])
    assert (await client.delete(bar, headers=auth("support", "s"))).status_code == 200
    await eventually(other_process, auth, customer, [])


async def test_without_a_live_feed_every_decision_reads_the_database(
    db: Database, rollout: list[int]
) -> None:
    dead_feed = ChangeFeed("postgresql://nobody@127.0.0.1:1/none")  # never started: never live
    catalog = PolicyCatalog(dead_feed)
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as uow:
        versions, barred = await catalog.versions_and_bar(uow, customer)
    assert [v.version for v in versions][:5] == [1, 2, 3, 4, 5]
    assert barred is False
    async with db.transaction() as uow:
        await uow.bars.bar(customer_id=customer, reason="test", barred_by="s")
    async with db.transaction() as uow:
        _, barred = await catalog.versions_and_bar(uow, customer)
    assert barred is True
