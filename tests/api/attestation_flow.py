"""Helpers for attested devices over HTTP: challenges, enrollment with generated attestations, signed uploads."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.capture_flow import Client, DoorDrop, prepare_order
from tests.conftest import AuthHeaders
from tests.photo_factory import make_device_key
from tests.unit.device_attestation.attestation_builders import (
    AttestationPki,
    KeyRecord,
    android_chain,
    app_attest_assertion,
    app_attest_attestation,
)

PHOTOS = "/v1/deliveries/{}/photos"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def courier() -> str:
    return f"cour-{uuid.uuid4().hex[:10]}"


async def challenge_for(client: Client, auth: AuthHeaders, courier_id: str) -> bytes:
    answer = await client.post("/v1/courier/devices/challenges", headers=auth("courier", courier_id))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    raw = base64.b64decode(body["challenge"])
    assert len(raw) == 32
    expires = datetime.fromisoformat(body["expiresAt"])
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10, seconds=5)
    return raw


async def enroll_android(
    client: Client,
    auth: AuthHeaders,
    pki: AttestationPki,
    courier_id: str,
    *,
    challenge: bytes | None = None,
    leaf_serial: int = 1,
    **record: Any,
) -> tuple[httpx.Response, ec.EllipticCurvePrivateKey]:
    """Enroll with a fresh challenge; `record` overrides what the keystore's KeyDescription says."""
    issued = await challenge_for(client, auth, courier_id)
    attested_challenge = record.pop("attested_challenge", issued)
    chain, key = android_chain(
        pki, KeyRecord(challenge=attested_challenge, **record), leaf_serial=leaf_serial
    )
    answer = await client.post(
        "/v1/courier/devices",
        json={
            "platform": "android",
            "challenge": b64(challenge if challenge is not None else issued),
            "keyAttestation": [b64(der) for der in chain],
        },
        headers=auth("courier", courier_id),
    )
    return answer, key


async def enroll_ios(
    client: Client, auth: AuthHeaders, pki: AttestationPki, courier_id: str
) -> tuple[httpx.Response, ec.EllipticCurvePrivateKey]:
    challenge = await challenge_for(client, auth, courier_id)
    attestation, key_id, key = app_attest_attestation(pki, challenge=challenge)
    answer = await client.post(
        "/v1/courier/devices",
        json={
            "platform": "ios",
            "challenge": b64(challenge),
            "appAttest": {"keyId": b64(key_id), "attestation": b64(attestation)},
        },
        headers=auth("courier", courier_id),
    )
    return answer, key


def refusal(answer: httpx.Response, code: str) -> set[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == code, body
    return {reason["code"] for reason in body.get("reasons", [])}


@dataclasses.dataclass
class AttestedDrop:
    drop: DoorDrop
    key: ec.EllipticCurvePrivateKey

    def android_headers(
        self, auth: AuthHeaders, data: bytes, key: ec.EllipticCurvePrivateKey | None = None
    ) -> dict[str, str]:
        signature = (key or self.key).sign(data, ec.ECDSA(hashes.SHA256()))
        return self.drop.headers(auth, data, signature=b64(signature))

    def ios_headers(self, auth: AuthHeaders, data: bytes, counter: int) -> dict[str, str]:
        headers = self.drop.headers(auth, data, signature="unused")
        del headers["X-Capture-Signature"]
        headers["X-Capture-Assertion"] = b64(app_attest_assertion(self.key, data, counter=counter))
        return headers


async def open_drop(
    client: Client, auth: AuthHeaders, courier_id: str, device_id: str, key: ec.EllipticCurvePrivateKey
) -> AttestedDrop:
    """An opted-in order for `courier_id` with a capture session on the attested device."""
    order = await prepare_order(client, auth)
    # prepare_order assigns a courier of its own: reassign the order to ours.
    assigned = await client.put(
        f"/v1/orders/{order['order_id']}/courier",
        json={"courierId": courier_id, "courierFirstName": "Иван"},
        headers=auth("service", "oms"),
    )
    assert assigned.status_code == 200, assigned.text
    opened = await client.post(
        f"/v1/deliveries/{order['order_id']}/capture-sessions",
        json={"deviceId": device_id},
        headers=auth("courier", courier_id),
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    drop = DoorDrop(
        order_id=order["order_id"],
        customer_id=order["customer_id"],
        courier_id=courier_id,
        label_code=order["label"],
        device_id=device_id,
        key=make_device_key()[0],  # unused: attested devices sign with `key` below
        session_id=session["sessionId"],
        nonce=session["nonce"],
    )
    return AttestedDrop(drop=drop, key=key)
