"""S3 and PostgreSQL go away under the app: clean 503s, nothing half-written, recovery without a restart."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from courier_api.app import create_app
from courier_api.demo import seed_policies
from infra.database import Database
from infra.devstack import DevStack, EmbeddedPostgres, EmbeddedS3
from infra.devstack.stack import create_database
from infra.migrate import apply_migrations
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import door_drop
from tests.conftest import AuthHeaders
from tests.factories import new_id, order_body

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def own_s3(
    settings: Settings, dev_stack: DevStack, rollout: list[int]
) -> AsyncIterator[tuple[EmbeddedS3, Settings, ObjectStore]]:
    """A private S3 server (the shared one must stay up for the other tests) and settings using it."""
    server = EmbeddedS3()
    server.start()
    own = msgspec.structs.replace(settings, s3_endpoint_url=server.endpoint_url)
    store = ObjectStore.for_settings(own, dev_stack.s3_credentials)
    await store.ensure_bucket()
    try:
        yield server, own, store
    finally:
        server.stop()


async def test_s3_outage_answers_503_and_the_same_retry_succeeds_exactly_once(
    own_s3: tuple[EmbeddedS3, Settings, ObjectStore], dev_stack: DevStack, auth: AuthHeaders, db: Database
) -> None:
    server, settings, store = own_s3
    app = create_app(settings, s3_credentials=dev_stack.s3_credentials)
    async with AsyncTestClient(app=app) as client:
        drop = await door_drop(client, auth)
        data = drop.photo()
        headers = drop.headers(auth, data, key="s3-outage-1")
        url = f"/v1/deliveries/{drop.order_id}/photos"

        server.stop()
        down = await client.post(url, content=data, headers=headers)
        assert down.status_code == 503, down.text
        assert down.json()["code"] == "storage.unavailable"
        assert int(down.headers["retry-after"]) > 0
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["storage"] is False
        async with db.transaction() as uow:
            assert await uow.attempts.for_order(drop.order_id) == []
            order = await uow.orders.get(drop.order_id)
        assert order is not None
        assert order.status == "pending"

        server.start()  # same port; moto starts empty, as a replaced S3 endpoint would be
        await store.ensure_bucket()
        first = await client.post(url, content=data, headers=headers)
        again = await client.post(url, content=data, headers=headers)
        assert first.status_code == again.status_code == 201, first.text
        assert first.json() == again.json()
        assert first.json()["verdict"] == "accepted"
        async with db.transaction() as uow:
            [attempt] = await uow.attempts.for_order(drop.order_id)
        assert await store.sha256_of(attempt.original_key) == attempt.sha256
        assert len(await store.list_objects(f"evidence/{drop.order_id}/")) == 1


async def test_postgres_restart_fails_cleanly_and_the_pool_recovers(
    settings: Settings, dev_stack: DevStack, store: ObjectStore, auth: AuthHeaders
) -> None:
    postgres = EmbeddedPostgres()
    postgres.init()
    postgres.start()
    try:
        name = f"fault_{secrets.token_hex(3)}"
        await create_database(postgres.dsn, name)
        dsn = postgres.dsn_for(name)
        await apply_migrations(dsn)
        seeded = await Database.connect(dsn, min_size=1, max_size=1)
        await seed_policies(seeded)
        await seeded.close()
        own = msgspec.structs.replace(settings, database_url=dsn, db_pool_min=3)
        app = create_app(own, s3_credentials=dev_stack.s3_credentials)
        async with AsyncTestClient(app=app) as client:
            service = auth("service", "oms")
            order_id = new_id()
            assert (
                await client.put(f"/v1/orders/{order_id}", json=order_body(), headers=service)
            ).status_code == 201

            postgres.stop()
            read = await client.get(f"/v1/orders/{order_id}", headers=service)
            assert read.status_code == 503, read.text
            assert read.json()["code"] == "database.unavailable"
            assert "retry-after" in read.headers
            write = await client.put(f"/v1/orders/{new_id()}", json=order_body(), headers=service)
            assert write.status_code == 503
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["database"] is False
            assert (await client.get("/health")).status_code == 200

            postgres.start()
            # The first request after the restart already works: the outage expired every pooled connection.
            back = await client.get(f"/v1/orders/{order_id}", headers=service)
            assert back.status_code == 200, back.text
            assert (await client.get("/ready")).status_code == 200
            statuses = [
                (await client.get(f"/v1/orders/{order_id}", headers=service)).status_code for _ in range(10)
            ]
            assert statuses == [200] * 10
    finally:
        postgres.remove()
