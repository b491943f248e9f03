"""Helpers that walk an order through the door-drop flow over HTTP, as the apps would."""

from __future__ import annotations

import dataclasses
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import AuthHeaders
from tests.factories import new_id, order_body
from tests.photo_factory import (
    DEFAULT_ADDRESS,
    PhotoSpec,
    make_device_key,
    make_photo,
    offset_point,
    sign_photo,
)

# The in-process test client or a real HTTP client against `courier-api serve`.
Client = httpx.AsyncClient


@dataclass
class DoorDrop:
    """An order opted into door drop, assigned to a courier with an enrolled device and an open session."""

    order_id: str
    customer_id: str
    courier_id: str
    label_code: str
    device_id: str
    key: Ed25519PrivateKey
    session_id: str
    nonce: str
    # The order's address, where the photos are taken by default.
    lat: float = DEFAULT_ADDRESS[0]
    lon: float = DEFAULT_ADDRESS[1]

    def photo(self, **overrides: Any) -> bytes:
        base = PhotoSpec(
            label_text=self.label_code,
            nonce=self.nonce,
            captured_at=datetime.now(UTC),
            seed=int(uuid.UUID(self.session_id)) % 1_000_000,
            lat=self.lat,
            lon=self.lon,
        )
        return make_photo(dataclasses.replace(base, **overrides))

    def headers(
        self, auth: AuthHeaders, data: bytes, *, key: str | None = None, signature: str | None = None
    ) -> dict[str, str]:
        return {
            **auth("courier", self.courier_id),
            "Content-Type": "image/jpeg",
            "X-Capture-Session": self.session_id,
            "X-Capture-Signature": signature or sign_photo(data, self.key),
            "Idempotency-Key": key or uuid.uuid4().hex,
        }


def somewhere_in_town() -> tuple[float, float]:
    """A random address within ~15 km of the default one: each door drop in its own map cell, mostly.

    The door check compares a photo with the accepted photos around its address; spreading the
    tests' orders keeps that to the photos a test means it to see.
    """
    return offset_point(
        *DEFAULT_ADDRESS, north_m=random.uniform(-15_000, 15_000), east_m=random.uniform(-15_000, 15_000)
    )


async def prepare_order(
    client: Client,
    auth: AuthHeaders,
    *,
    opt_in: bool = True,
    at: tuple[float, float] = DEFAULT_ADDRESS,
    **body: Any,
) -> dict[str, str]:
    order_id, customer_id, courier_id = (
        new_id(),
        body.pop("customer_id", None) or new_id("cust"),
        new_id("cour"),
    )
    label = body.pop("label_code", None) or f"DD{uuid.uuid4().hex[:10].upper()}"
    lat, lon = at
    payload = order_body(customer_id=customer_id, label_code=label, lat=lat, lon=lon, **body)
    created = await client.put(f"/v1/orders/{order_id}", json=payload, headers=auth("service", "oms"))
    assert created.status_code == 201, created.text
    await client.put(
        f"/v1/orders/{order_id}/courier",
        json={"courierId": courier_id, "courierFirstName": "Иван"},
        headers=auth("service", "oms"),
    )
    if opt_in:
        chosen = await client.put(
            f"/v1/orders/{order_id}/door-drop", json={"enabled": True}, headers=auth("customer", customer_id)
        )
        assert chosen.status_code == 200, chosen.text
    return {"order_id": order_id, "customer_id": customer_id, "courier_id": courier_id, "label": label}


async def enroll(client: Client, auth: AuthHeaders, courier_id: str) -> tuple[str, Ed25519PrivateKey]:
    key, public_b64 = make_device_key()
    enrolled = await client.post(
        "/v1/courier/devices",
        json={"publicKey": public_b64, "platform": "android"},
        headers=auth("courier", courier_id),
    )
    assert enrolled.status_code == 201, enrolled.text
    return str(enrolled.json()["deviceId"]), key


async def door_drop(
    client: Client, auth: AuthHeaders, *, at: tuple[float, float] | None = None, **body: Any
) -> DoorDrop:
    """A door drop ready for its photo, at `at` (else somewhere in town) and its own address text."""
    lat, lon = at or somewhere_in_town()
    order = await prepare_order(client, auth, at=(lat, lon), **body)
    device_id, key = await enroll(client, auth, order["courier_id"])
    opened = await client.post(
        f"/v1/deliveries/{order['order_id']}/capture-sessions",
        json={"deviceId": device_id},
        headers=auth("courier", order["courier_id"]),
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    return DoorDrop(
        order_id=order["order_id"],
        customer_id=order["customer_id"],
        courier_id=order["courier_id"],
        label_code=order["label"],
        device_id=device_id,
        key=key,
        session_id=session["sessionId"],
        nonce=session["nonce"],
        lat=lat,
        lon=lon,
    )


def failed(answer: dict[str, Any]) -> set[str]:
    """The codes of the checks an upload's answer says failed."""
    return {check["code"] for check in answer["checks"] if not check["passed"]}


async def lock_waiters(conn: asyncpg.Connection) -> int:
    """How many sessions of this database wait for a lock now (races are held until they do)."""
    found = await conn.fetchval(
        "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
    )
    return int(found)
