"""Photo proof at the door over HTTP: every verdict the courier can get, and what is stored."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta

from PIL import Image

from infra.database import Database
from infra.storage import ObjectStore
from tests.api.capture_flow import Client, door_drop, enroll, failed, prepare_order
from tests.conftest import AuthHeaders
from tests.photo_factory import offset_point

PHOTOS = "/v1/deliveries/{}/photos"


async def test_accepted_photo_completes_the_delivery_and_stores_evidence(
    client: Client, auth: AuthHeaders, store: ObjectStore, db: Database
) -> None:
    drop = await door_drop(client, auth)
    data = drop.photo()
    answer = await client.post(PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["verdict"] == "accepted", failed(body)
    assert body["delivery"] == {"status": "left_at_door"}
    codes = {check["code"] for check in body["checks"]}
    assert {
        "provenance.signature",
        "provenance.nonce",
        "provenance.capture_time",
        "provenance.edited",
        "location.gps",
        "label.found",
        "label.matches_order",
        "label.too_small",
        "label.too_large",
        "quality.blur",
        "quality.exposure",
        "reuse.duplicate",
    } <= codes

    async with db.transaction() as uow:
        attempts = await uow.attempts.for_order(drop.order_id)
        order = await uow.orders.get(drop.order_id)
    assert order is not None
    assert order.status == "left_at_door"
    assert order.accepted_photo_id == uuid.UUID(body["photoId"])
    [attempt] = attempts
    assert attempt.sha256 == hashlib.sha256(data).hexdigest()
    assert await store.sha256_of(attempt.original_key) == attempt.sha256
    assert await store.get(attempt.original_key) == data
    assert attempt.customer_copy_key is not None
    copy = await store.get(attempt.customer_copy_key)
    assert copy is not None
    with Image.open(io.BytesIO(copy)) as image:
        assert max(image.size) <= 1600
        assert not image.getexif()
        assert "exif" not in image.info

    staff = await client.get(f"/v1/orders/{drop.order_id}", headers=auth("support", "s1"))
    assert staff.json()["status"] == "left_at_door"
    replace = await client.put(
        f"/v1/orders/{drop.order_id}", json=staff.json()["order"], headers=auth("service", "oms")
    )
    assert replace.status_code == 409
    assert replace.json()["code"] == "order.already_delivered"
    again = await client.post(
        f"/v1/deliveries/{drop.order_id}/capture-sessions",
        json={"deviceId": drop.device_id},
        headers=auth("courier", drop.courier_id),
    )
    assert again.status_code == 409


async def test_same_idempotency_key_replays_and_a_different_body_is_refused(
    client: Client, auth: AuthHeaders
) -> None:
    drop = await door_drop(client, auth)
    data = drop.photo()
    headers = drop.headers(auth, data, key="retry-me-1")
    first = await client.post(PHOTOS.format(drop.order_id), content=data, headers=headers)
    second = await client.post(PHOTOS.format(drop.order_id), content=data, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = drop.photo(seed=4242)
    clash = await client.post(
        PHOTOS.format(drop.order_id), content=other, headers=drop.headers(auth, other, key="retry-me-1")
    )
    assert clash.status_code == 422
    assert clash.json()["code"] == "idempotency.key_reused"


async def test_each_bad_photo_gets_its_retake_code(client: Client, auth: AuthHeaders) -> None:
    drop = await door_drop(client, auth)
    far = offset_point(drop.lat, drop.lon, north_m=900, east_m=0)
    other = await door_drop(client, auth)  # another order's session: its nonce is not this session's
    cases = [
        ("provenance.nonce", drop.photo(nonce=None)),  # a gallery picture has no session nonce
        ("provenance.nonce", drop.photo(nonce=other.nonce)),  # shot for another order
        (
            "provenance.capture_time",
            drop.photo(captured_at=datetime.now(UTC) - timedelta(hours=1)),
        ),  # before the session
        ("provenance.edited", drop.photo(resave_scale=0.9)),  # re-encoded after capture
        ("location.gps", drop.photo(include_gps=False)),
        ("label.too_small", drop.photo(label_share=0.004)),
        ("quality.exposure", drop.photo(brightness=3.5)),  # blown out
    ]
    for code, data in cases:
        answer = await client.post(
            PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data)
        )
        assert answer.status_code == 201, answer.text
        assert code in failed(answer.json()), (code, failed(answer.json()))
        assert answer.json()["delivery"] == {"status": "pending"}
    cases_by_code = {
        "provenance.nonce": drop.photo(nonce=None),
        "provenance.capture_time": drop.photo(captured_at=datetime.now(UTC) - timedelta(days=2)),
        "location.gps": drop.photo(lat=far[0], lon=far[1]),
        "label.found": drop.photo(include_label=False),
        "label.matches_order": drop.photo(label_text="DDSOMEONEELSE1"),
        "label.too_large": drop.photo(label_share=0.30),
        "quality.blur": drop.photo(blur_radius=8.0),
        "quality.exposure": drop.photo(brightness=0.12),
        "provenance.edited": drop.photo(software="Adobe Photoshop 25.0"),
    }
    for code, data in cases_by_code.items():
        answer = await client.post(
            PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data)
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["verdict"] == "rejected", code
        assert code in failed(answer.json()), (code, failed(answer.json()))
        assert answer.json()["delivery"] == {"status": "pending"}

    good = drop.photo()
    forged = await client.post(
        PHOTOS.format(drop.order_id),
        content=good,
        headers=drop.headers(auth, good, signature=drop.headers(auth, b"x")["X-Capture-Signature"]),
    )
    assert failed(forged.json()) == {"provenance.signature"}
    accepted = await client.post(PHOTOS.format(drop.order_id), content=good, headers=drop.headers(auth, good))
    assert accepted.json()["verdict"] == "accepted", failed(accepted.json())


async def test_the_same_photo_for_another_order_is_a_duplicate(client: Client, auth: AuthHeaders) -> None:
    first = await door_drop(client, auth)
    data = first.photo()
    answer = await client.post(PHOTOS.format(first.order_id), content=data, headers=first.headers(auth, data))
    assert answer.json()["verdict"] == "accepted", failed(answer.json())
    # Another flat of the same building (the doorstep check compares within the building's cells).
    second = await door_drop(client, auth, at=(first.lat, first.lon))
    # The same scene and label re-shot for another order: only the nonce and label text are right.
    reused = second.photo(seed=int(uuid.UUID(first.session_id)) % 1_000_000)
    answer = await client.post(
        PHOTOS.format(second.order_id), content=reused, headers=second.headers(auth, reused)
    )
    assert "reuse.duplicate" in failed(answer.json())


async def test_refusals_store_nothing(client: Client, auth: AuthHeaders, db: Database) -> None:
    drop = await door_drop(client, auth)
    url = PHOTOS.format(drop.order_id)
    png = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(png, format="PNG")
    cases = [
        (png.getvalue(), "photo.not_jpeg"),
        (b"", "photo.empty"),
        (drop.photo()[:50_000], "photo.truncated"),
    ]
    for data, code in cases:
        answer = await client.post(url, content=data, headers=drop.headers(auth, data))
        assert answer.status_code == 422, (code, answer.text)
        assert answer.json()["code"] == code
    jpeg = drop.photo()
    wrong_type = await client.post(
        url, content=jpeg, headers=drop.headers(auth, jpeg) | {"Content-Type": "image/png"}
    )
    assert wrong_type.status_code == 415
    bad_session = await client.post(
        url, content=jpeg, headers=drop.headers(auth, jpeg) | {"X-Capture-Session": str(uuid.uuid4())}
    )
    assert bad_session.status_code == 404
    assert bad_session.json()["code"] == "capture_session.not_found"
    not_uuid = await client.post(
        url, content=jpeg, headers=drop.headers(auth, jpeg) | {"X-Capture-Session": "nope"}
    )
    assert not_uuid.status_code == 422
    missing_header = drop.headers(auth, jpeg)
    del missing_header["Idempotency-Key"]
    assert (await client.post(url, content=jpeg, headers=missing_header)).status_code == 400
    stranger = await client.post(
        url, content=jpeg, headers=drop.headers(auth, jpeg) | auth("courier", "stranger")
    )
    assert stranger.status_code == 404
    async with db.transaction() as uow:
        assert await uow.attempts.for_order(drop.order_id) == []


async def test_capture_session_needs_opt_in_eligibility_and_own_device(
    client: Client, auth: AuthHeaders
) -> None:
    not_opted = await prepare_order(client, auth, opt_in=False)
    device_id, _ = await enroll(client, auth, not_opted["courier_id"])
    url = f"/v1/deliveries/{not_opted['order_id']}/capture-sessions"
    refused = await client.post(
        url, json={"deviceId": device_id}, headers=auth("courier", not_opted["courier_id"])
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "door_drop.not_enabled"

    order = await prepare_order(client, auth)
    other_device, _ = await enroll(client, auth, "someone-else")
    foreign = await client.post(
        f"/v1/deliveries/{order['order_id']}/capture-sessions",
        json={"deviceId": other_device},
        headers=auth("courier", order["courier_id"]),
    )
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "device.not_found"

    # The order changes after opt-in (now cash on delivery): no capture may start.
    snapshot = (await client.get(f"/v1/orders/{order['order_id']}", headers=auth("service", "oms"))).json()[
        "order"
    ]
    await client.put(
        f"/v1/orders/{order['order_id']}",
        json=snapshot | {"payment": "cash_on_delivery"},
        headers=auth("service", "oms"),
    )
    own_device, _ = await enroll(client, auth, order["courier_id"])
    stale = await client.post(
        f"/v1/deliveries/{order['order_id']}/capture-sessions",
        json={"deviceId": own_device},
        headers=auth("courier", order["courier_id"]),
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "door_drop.not_eligible"
    assert [r["code"] for r in stale.json()["reasons"]] == ["not_prepaid"]


async def test_device_keys_are_validated(client: Client, auth: AuthHeaders) -> None:
    for key in ("not base64!!" * 4, "QUJD" * 11):
        answer = await client.post(
            "/v1/courier/devices", json={"publicKey": key, "platform": "ios"}, headers=auth("courier", "c1")
        )
        assert answer.status_code in (400, 422), key
    assert (
        await client.post(
            "/v1/courier/devices",
            json={"publicKey": "QUJD" * 11, "platform": "ios"},
            headers=auth("customer", "c1"),
        )
    ).status_code == 403
