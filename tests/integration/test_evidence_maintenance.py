"""Scheduled jobs on the real database and bucket: retention keeps claimed evidence, reconcile finds orphans.

Reconcile works from the keys uploads record before their puts (object intents), never a bucket listing;
the full sweep lists the bucket and is run by hand.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from courier_api.use_cases.maintenance import apply_retention, full_sweep, reconcile
from infra.database import Database
from infra.storage import ObjectStore
from tests.api.capture_flow import Client, door_drop
from tests.conftest import AuthHeaders

PHOTOS = "/v1/deliveries/{}/photos"


async def accepted_drop(client: Client, auth: AuthHeaders) -> tuple[str, str]:
    drop = await door_drop(client, auth)
    data = drop.photo()
    answer = await client.post(PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data))
    assert answer.json()["verdict"] == "accepted"
    return drop.order_id, drop.customer_id


async def test_retention_deletes_old_evidence_but_keeps_orders_with_open_claims(
    client: Client, auth: AuthHeaders, db: Database, store: ObjectStore
) -> None:
    plain_order, _ = await accepted_drop(client, auth)
    claimed_order, customer = await accepted_drop(client, auth)
    claim = await client.post(
        f"/v1/me/orders/{claimed_order}/claims",
        json={"kind": "not_received"},
        headers=auth("customer", customer),
    )
    assert claim.status_code == 201

    # Judged a year from now with a 180-day retention: both photos are past it.
    report = await apply_retention(
        db, store, now=datetime.now(UTC) + timedelta(days=365), retention=timedelta(days=180)
    )
    assert report.photos >= 1
    async with db.transaction() as uow:
        [plain] = await uow.attempts.for_order(plain_order)
        [claimed] = await uow.attempts.for_order(claimed_order)
    assert plain.deleted_at is not None
    assert await store.sha256_of(plain.original_key) is None
    assert plain.customer_copy_key is not None
    assert await store.sha256_of(plain.customer_copy_key) is None
    assert claimed.deleted_at is None
    assert await store.sha256_of(claimed.original_key) == claimed.sha256

    async with db.transaction() as uow:
        order = await uow.orders.get(plain_order)
    assert order is not None
    owner_view = await client.get(
        f"/v1/me/orders/{plain_order}/delivery", headers=auth("customer", order.customer_id)
    )
    assert "photoUrl" not in owner_view.json()
    assert owner_view.json()["status"] == "left_at_door"


async def test_reconcile_removes_orphans_and_keeps_referenced_objects(
    client: Client, auth: AuthHeaders, db: Database, store: ObjectStore
) -> None:
    order_id, _ = await accepted_drop(client, auth)
    # An upload that crashed between its put and its commit: the intent was recorded, then the object put.
    photo_id = uuid.uuid4()
    orphan_key = f"evidence/{order_id}/{photo_id}.jpg"
    async with db.transaction() as uow:
        await uow.object_intents.record(photo_id, [orphan_key], datetime.now(UTC))
    data = b"an upload that crashed before its commit"
    await store.put_new(
        orphan_key, data, sha256_hex=hashlib.sha256(data).hexdigest(), content_type="image/jpeg"
    )

    fresh = await reconcile(db, store, now=datetime.now(UTC), delete=True)
    assert orphan_key not in fresh.orphans  # younger than the grace period: may still be in flight
    assert await store.sha256_of(orphan_key) is not None

    later = await reconcile(db, store, now=datetime.now(UTC) + timedelta(hours=1), delete=True)
    assert orphan_key in later.orphans
    assert await store.sha256_of(orphan_key) is None
    async with db.transaction() as uow:
        [attempt] = await uow.attempts.for_order(order_id)
    assert attempt.original_key not in later.orphans
    assert await store.sha256_of(attempt.original_key) == attempt.sha256
    assert str(attempt.photo_id) not in later.missing_or_altered


async def test_reconcile_reports_evidence_that_was_altered(
    client: Client, auth: AuthHeaders, db: Database, store: ObjectStore
) -> None:
    order_id, _ = await accepted_drop(client, auth)
    async with db.transaction() as uow:
        [attempt] = await uow.attempts.for_order(order_id)
    await store.delete(attempt.original_key)
    report = await reconcile(db, store, now=datetime.now(UTC), delete=False)
    assert str(attempt.photo_id) in report.missing_or_altered


async def test_reconcile_does_not_list_the_bucket_but_the_full_sweep_does(
    client: Client, auth: AuthHeaders, db: Database, store: ObjectStore
) -> None:
    order_id, _ = await accepted_drop(client, auth)
    # An object with no recorded intent (written by hand, or before intents existed): the hourly reconcile
    # never sees it, because it reads intents, not a listing; the explicit full sweep finds and removes it.
    stray_key = f"evidence/{order_id}/{uuid.uuid4()}.jpg"
    data = b"an object from before intents were recorded"
    await store.put_new(
        stray_key, data, sha256_hex=hashlib.sha256(data).hexdigest(), content_type="image/jpeg"
    )
    later = datetime.now(UTC) + timedelta(hours=1)

    hourly = await reconcile(db, store, now=later, delete=True)
    assert stray_key not in hourly.orphans
    assert await store.sha256_of(stray_key) is not None

    swept = await full_sweep(db, store, now=later, delete=True)
    assert stray_key in swept.orphans
    assert await store.sha256_of(stray_key) is None
    async with db.transaction() as uow:
        [attempt] = await uow.attempts.for_order(order_id)
    assert attempt.original_key not in swept.orphans
    assert await store.sha256_of(attempt.original_key) == attempt.sha256


async def test_an_accepted_upload_settles_its_intents_in_its_own_transaction(
    client: Client, auth: AuthHeaders, db: Database, store: ObjectStore
) -> None:
    order_id, _ = await accepted_drop(client, auth)
    async with db.transaction() as uow:
        [attempt] = await uow.attempts.for_order(order_id)
        left = await uow.object_intents.due(
            created_before=datetime.now(UTC) + timedelta(days=1), after=None, limit=100_000
        )
    assert attempt.customer_copy_key is not None
    assert {attempt.original_key, attempt.customer_copy_key}.isdisjoint(intent.key for intent in left)
