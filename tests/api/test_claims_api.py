"""After the drop over HTTP: the customer's view and claim, support's evidence and decision, bars, reports."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import httpx
import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from courier_api.app import create_app
from infra.database import Database
from infra.devstack import DevStack
from infra.settings import Settings
from tests.api.capture_flow import Client, DoorDrop, door_drop
from tests.api.outbox_runs import deliver_notifications
from tests.conftest import AuthHeaders
from tests.factories import item

PHOTOS = "/v1/deliveries/{}/photos"


async def delivered(client: Client, auth: AuthHeaders, **order: Any) -> DoorDrop:
    drop = await door_drop(client, auth, **order)
    data = drop.photo()
    answer = await client.post(PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data))
    assert answer.json()["verdict"] == "accepted", answer.text
    return drop


async def fetch(url: str) -> httpx.Response:
    """GET a presigned URL from the S3 server, as a browser would."""
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(url)


async def outbox_events(db: Database, event_type: str, order_id: str) -> list[dict[str, Any]]:
    async with db.transaction() as uow:
        rows = await uow.outbox.events_for_order(event_type, order_id)
    return rows


@pytest.fixture(scope="module")
async def later_client(settings: Settings, dev_stack: DevStack) -> AsyncIterator[Client]:
    """The same app and database, its clock 15 days ahead (past the 14-day claim window)."""
    app = create_app(
        settings,
        s3_credentials=dev_stack.s3_credentials,
        clock=lambda: datetime.now(UTC) + timedelta(days=15),
    )
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_customer_sees_the_drop_and_a_short_lived_photo_without_exif(
    client: Client, auth: AuthHeaders
) -> None:
    drop = await delivered(client, auth)
    me = auth("customer", drop.customer_id)
    view = await client.get(f"/v1/me/orders/{drop.order_id}/delivery", headers=me)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["status"] == "left_at_door"
    assert body["courierFirstName"] == "Иван"
    assert body["doorDrop"] is True
    left_at = datetime.fromisoformat(body["leftAt"])
    assert abs(left_at - datetime.now(UTC)) < timedelta(minutes=5)
    query = parse_qs(urlparse(body["photoUrl"]).query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    assert "customer-copies/" in body["photoUrl"]
    photo = await fetch(body["photoUrl"])
    assert photo.status_code == 200
    with Image.open(io.BytesIO(photo.content)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
    assert (
        await client.get(f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("customer", "someone-else"))
    ).status_code == 404
    assert (
        await client.get(f"/v1/me/orders/{drop.order_id}/delivery", headers=auth("courier", drop.courier_id))
    ).status_code == 403


async def test_claim_decision_and_notifications(client: Client, auth: AuthHeaders, db: Database) -> None:
    drop = await delivered(client, auth, items=[item(price=120_000)])
    me = auth("customer", drop.customer_id)
    claims_url = f"/v1/me/orders/{drop.order_id}/claims"
    opened = await client.post(
        claims_url, json={"kind": "not_received", "comment": "Нет у двери"}, headers=me
    )
    assert opened.status_code == 201, opened.text
    claim_id = opened.json()["claimId"]
    assert opened.json()["status"] == "open"
    second = await client.post(claims_url, json={"kind": "damaged"}, headers=me)
    assert second.status_code == 409
    assert second.json()["code"] == "claim.already_open"
    assert len(await outbox_events(db, "claim.opened", drop.order_id)) == 1

    decide = f"/v1/support/claims/{claim_id}/decision"
    support = auth("support", "agent-1")
    over = await client.post(
        decide, json={"decision": "compensate", "amountKopecks": 120_001, "reason": "x"}, headers=support
    )
    assert over.status_code == 422
    assert over.json()["code"] == "claim.amount_over_value"
    assert (
        await client.post(
            decide, json={"decision": "reject", "amountKopecks": 1, "reason": "x"}, headers=support
        )
    ).status_code == 422
    assert (
        await client.post(
            decide, json={"decision": "reject", "reason": "x"}, headers=auth("customer", drop.customer_id)
        )
    ).status_code == 403
    done = await client.post(
        decide,
        json={"decision": "compensate", "amountKopecks": 120_000, "reason": "parcel stolen"},
        headers=support,
    )
    assert done.status_code == 200, done.text
    assert done.json()["decidedBy"] == "agent-1"
    final = await client.post(
        decide, json={"decision": "reject", "reason": "changed my mind"}, headers=support
    )
    assert final.status_code == 409
    assert final.json()["code"] == "claim.already_decided"
    [event] = await outbox_events(db, "claim.decided", drop.order_id)
    assert event["decision"] == "compensate"
    assert event["amountKopecks"] == 120_000
    unknown = await client.post(
        f"/v1/support/claims/{uuid.uuid4()}/decision",
        json={"decision": "reject", "reason": "x"},
        headers=support,
    )
    assert unknown.status_code == 404


async def test_claims_need_a_drop_and_respect_the_window(
    client: Client, later_client: Client, auth: AuthHeaders, db: Database, settings: Settings
) -> None:
    pending = await door_drop(client, auth)
    too_early = await client.post(
        f"/v1/me/orders/{pending.order_id}/claims",
        json={"kind": "not_received"},
        headers=auth("customer", pending.customer_id),
    )
    assert too_early.status_code == 409
    assert too_early.json()["code"] == "claim.not_delivered"
    drop = await delivered(client, auth)
    # No channel is configured: the notice is settled (skipped) and the window counts from acceptance.
    await deliver_notifications(db, settings, at=datetime.now(UTC), webhook=None)
    too_late = await later_client.post(
        f"/v1/me/orders/{drop.order_id}/claims",
        json={"kind": "not_received"},
        headers=auth("customer", drop.customer_id),
    )
    assert too_late.status_code == 409
    assert too_late.json()["code"] == "claim.window_closed"


async def test_support_evidence_is_complete_reverified_and_audited(
    client: Client, auth: AuthHeaders, settings: Settings, dev_stack: DevStack
) -> None:
    drop = await door_drop(client, auth)
    blurred = drop.photo(blur_radius=8.0)
    await client.post(PHOTOS.format(drop.order_id), content=blurred, headers=drop.headers(auth, blurred))
    good = drop.photo()
    await client.post(PHOTOS.format(drop.order_id), content=good, headers=drop.headers(auth, good))

    url = f"/v1/support/orders/{drop.order_id}/evidence"
    evidence = await client.get(url, headers=auth("support", "agent-2"))
    assert evidence.status_code == 200, evidence.text
    body = evidence.json()
    assert [a["verdict"] for a in body["attempts"]] == ["rejected", "accepted"]
    assert "quality.blur" in {c["code"] for c in body["attempts"][0]["checks"] if not c["passed"]}
    accepted = body["accepted"]
    assert accepted["storedObjectMatches"] is True
    assert (await fetch(accepted["originalUrl"])).content == good
    assert body["attempts"][1]["capturedAt"]
    assert body["attempts"][1]["distanceM"] < 150
    assert body["attempts"][1]["deviceId"] == drop.device_id
    assert body["sessionPolicyVersions"]
    assert body["lastDoorDropDecision"]["eligible"] is True
    assert "openstreetmap.org" in accepted["mapUrl"]
    assert (await client.get(url, headers=auth("admin", "a"))).status_code == 403
    assert (await client.get(url, headers=auth("courier", drop.courier_id))).status_code == 403

    audit = await client.get("/v1/admin/audit", params={"orderId": drop.order_id}, headers=auth("admin", "a"))
    assert audit.status_code == 200
    actions = [(e["actorId"], e["action"]) for e in audit.json()]
    assert ("agent-2", "evidence.view") in actions
    assert actions.count(("agent-2", "evidence.original_url")) == 2
    assert (await client.get("/v1/admin/audit", headers=auth("support", "agent-2"))).status_code == 403

    # Someone overwrites the evidence behind our back: the re-verification says so.
    access_key, secret_key = dev_stack.s3_credentials
    raw = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
    )
    raw.put_object(
        Bucket=settings.s3_bucket, Key=f"evidence/{drop.order_id}/{accepted['photoId']}.jpg", Body=b"tampered"
    )
    again = await client.get(url, headers=auth("support", "agent-2"))
    assert again.json()["accepted"]["storedObjectMatches"] is False


async def test_an_evidence_views_audit_rows_carry_the_requests_id(client: Client, auth: AuthHeaders) -> None:
    drop = await delivered(client, auth)
    url = f"/v1/support/orders/{drop.order_id}/evidence"
    sent_id = f"audit-{uuid.uuid4().hex[:16]}"
    # The id the client sent, and the one the server made up when none was sent (echoed in the header).
    with_id = await client.get(url, headers={**auth("support", "agent-rid"), "X-Request-Id": sent_id})
    assert with_id.status_code == 200, with_id.text
    assert with_id.headers["x-request-id"] == sent_id
    without_id = await client.get(url, headers=auth("support", "agent-rid"))
    assert without_id.status_code == 200, without_id.text
    generated_id = without_id.headers["x-request-id"]
    assert generated_id not in {"", "-", sent_id}

    audit = await client.get("/v1/admin/audit", params={"orderId": drop.order_id}, headers=auth("admin", "a"))
    assert audit.status_code == 200
    rows = [e for e in audit.json() if e["actorId"] == "agent-rid"]
    views = [e["requestId"] for e in rows if e["action"] == "evidence.view"]
    urls = [e["requestId"] for e in rows if e["action"] == "evidence.original_url"]
    assert sorted(views) == sorted([sent_id, generated_id])
    assert sorted(urls) == sorted([sent_id, generated_id])


async def test_bar_feeds_eligibility_and_can_be_lifted(client: Client, auth: AuthHeaders) -> None:
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    support = auth("support", "agent-3")
    bar_url = f"/v1/support/customers/{customer}/door-drop-bar"
    order = {
        "customer": {"id": customer},
        "city": "MOW",
        "deliveryMethod": "courier",
        "payment": "prepaid",
        "labelCode": "L",
        "address": {"text": "a", "lat": 55.7, "lon": 37.6},
        "items": [item()],
    }

    async def reasons() -> list[str]:
        answer = await client.post(
            "/v1/eligibility/check", json={"order": order}, headers=auth("customer", customer)
        )
        return [r["code"] for r in answer.json()["reasons"]]

    assert await reasons() == []
    barred = await client.post(bar_url, json={"reason": "confirmed fraud, claim X"}, headers=support)
    assert barred.status_code == 201, barred.text
    assert (await client.post(bar_url, json={"reason": "again"}, headers=support)).status_code == 409
    assert await reasons() == ["customer_barred"]
    history = await client.get(bar_url, headers=support)
    assert history.json()["barred"] is True
    lifted = await client.delete(bar_url, headers=support)
    assert lifted.status_code == 200
    assert lifted.json()["liftedBy"] == "agent-3"
    assert await reasons() == []
    assert (await client.delete(bar_url, headers=support)).status_code == 404
    assert (await client.post(bar_url, json={"reason": "x"}, headers=auth("admin", "a"))).status_code == 403


async def test_incidents_per_city_and_week(client: Client, auth: AuthHeaders) -> None:
    city = "NSK"
    drops = [await delivered(client, auth, city=city) for _ in range(2)]
    claim = await client.post(
        f"/v1/me/orders/{drops[0].order_id}/claims",
        json={"kind": "not_received"},
        headers=auth("customer", drops[0].customer_id),
    )
    await client.post(
        f"/v1/support/claims/{claim.json()['claimId']}/decision",
        json={"decision": "compensate", "amountKopecks": 10_000, "reason": "stolen"},
        headers=auth("support", "agent-4"),
    )
    now = datetime.now(UTC)
    report = await client.get(
        "/v1/admin/incidents",
        params={"from": (now - timedelta(days=8)).isoformat(), "to": (now + timedelta(days=1)).isoformat()},
        headers=auth("admin", "a"),
    )
    assert report.status_code == 200, report.text
    [totals] = [c for c in report.json()["cities"] if c["city"] == city]
    assert totals["doorDrops"] == 2
    assert totals["claims"] == 1
    assert totals["compensations"] == 1
    assert totals["compensatedKopecks"] == 10_000
    assert totals["claimsPer1000Drops"] == 500.0
    bad = await client.get(
        "/v1/admin/incidents",
        params={"from": now.isoformat(), "to": now.isoformat()},
        headers=auth("admin", "a"),
    )
    assert bad.status_code == 422
    naive = await client.get(
        "/v1/admin/incidents",
        params={"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00"},
        headers=auth("admin", "a"),
    )
    assert naive.status_code == 422
