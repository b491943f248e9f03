"""One real `courier-api serve` process for the reliability tests, on a database of its own.

Fuzzing and hostile uploads change state at random (new policy versions, bars, claims), so they
get a fresh database (same migrations, same rollout seed) instead of the session's shared one;
the bucket is shared, every key holds the order id. The server speaks real HTTP on 127.0.0.1,
so body limits, streaming and the process's memory are what production sees, and its JSON log
lines land in a file the log test reads.
"""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest

from courier_api.demo import seed_policies
from infra.database import Database
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.devstack.stack import create_database
from infra.migrate import apply_migrations
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import DoorDrop, door_drop
from tests.conftest import AuthHeaders
from tests.processes import service_env, start_api, stop


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    settings: Settings


@pytest.fixture(scope="session")
async def live_settings(settings: Settings, dev_stack: DevStack, store: ObjectStore) -> Settings:
    """The session's settings on a database of their own, migrated and seeded with the rollout."""
    name = f"reliability_{secrets.token_hex(4)}"
    await create_database(dev_stack.postgres.dsn, name)
    url = dev_stack.postgres.dsn_for(name)
    await apply_migrations(url)
    db = await Database.connect(url, min_size=1, max_size=1)
    try:
        await seed_policies(db)
    finally:
        await db.close()
    return msgspec.structs.replace(settings, database_url=url)


@pytest.fixture(scope="session")
async def live_db(live_settings: Settings) -> AsyncIterator[Database]:
    database = await Database.connect(live_settings.database_url, min_size=1, max_size=2)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(scope="session")
def live_api(
    live_settings: Settings, dev_stack: DevStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    """`courier-api serve` on a free loopback port; returns once /ready answers 200."""
    log = tmp_path_factory.mktemp("live-api") / "api.log"
    env = service_env(
        live_settings,
        s3_credentials=dev_stack.s3_credentials,
        # One process holds all the work (verification in threads), so its peak RSS is the whole cost.
        VERIFY_POOL="thread",
        DB_POOL_MIN="1",
        DB_POOL_MAX="4",
        LOG_LEVEL="INFO",
    )
    port = free_port()
    process = start_api(env, port, log=log)
    try:
        yield LiveApi(base_url=f"http://127.0.0.1:{port}", process=process, log=log, settings=live_settings)
    finally:
        stop(process)


@pytest.fixture
async def http(live_api: LiveApi) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=60.0) as client:
        yield client


@dataclass(frozen=True)
class World:
    """Existing objects for every kind of path parameter, so requests reach past 401 and 404."""

    delivered: DoorDrop  # an accepted photo and an open claim
    photo_id: str
    claim_id: str
    pending: DoorDrop  # opted in, device enrolled, capture session open
    outbox_entry_id: int


async def build_world(client: httpx.AsyncClient, auth: AuthHeaders, db: Database) -> World:
    """Walk one order to delivered-with-a-claim and another to an open capture session, over HTTP."""
    delivered = await door_drop(client, auth)
    photo = delivered.photo()
    uploaded = await client.post(
        f"/v1/deliveries/{delivered.order_id}/photos", content=photo, headers=delivered.headers(auth, photo)
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["verdict"] == "accepted", uploaded.text
    photo_id = str(uploaded.json()["photoId"])
    claim = await client.post(
        f"/v1/me/orders/{delivered.order_id}/claims",
        json={"kind": "not_received", "comment": "not there"},
        headers=auth("customer", delivered.customer_id),
    )
    assert claim.status_code == 201, claim.text
    pending = await door_drop(client, auth)
    async with db.transaction() as uow:
        entries = await uow.outbox.for_events([uuid.UUID(photo_id)])
    return World(
        delivered=delivered,
        photo_id=photo_id,
        claim_id=str(claim.json()["claimId"]),
        pending=pending,
        outbox_entry_id=entries[0].id,
    )
