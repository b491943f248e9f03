"""The server's JSON log lines never carry a bearer token, an email, a phone number or a coordinate.

A full door drop runs against the real `courier-api serve` (order with email and phone, a photo
with GPS, the customer reading the delivery, a few refusals); then the whole log file that
process wrote is searched for each of those values in clear.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

import httpx

from courier_api.auth import Role
from courier_api.logging_setup import JsonFormatter
from tests.api.capture_flow import door_drop
from tests.conftest import AuthHeaders
from tests.photo_factory import DEFAULT_ADDRESS
from tests.reliability.conftest import LiveApi

EMAIL = "jane.doe+door@example.org"
PHONE = "+7 (915) 123-45-67"


async def test_logs_hold_no_token_email_phone_or_coordinate(live_api: LiveApi, auth: AuthHeaders) -> None:
    used_tokens: list[str] = []

    def recording_auth(role: Role, sub: str) -> dict[str, str]:
        headers = auth(role, sub)
        used_tokens.append(headers["Authorization"].removeprefix("Bearer "))
        return headers

    request_ids: list[str] = []

    async def tag(request: httpx.Request) -> None:
        request.headers["X-Request-Id"] = rid = f"logtest-{uuid.uuid4().hex[:16]}"
        request_ids.append(rid)

    async with httpx.AsyncClient(
        base_url=live_api.base_url, timeout=60.0, event_hooks={"request": [tag]}
    ) as client:
        drop = await door_drop(client, recording_auth, email=EMAIL, phone=PHONE)
        photo = drop.photo()
        uploaded = await client.post(
            f"/v1/deliveries/{drop.order_id}/photos",
            content=photo,
            headers=drop.headers(recording_auth, photo),
        )
        assert uploaded.json()["verdict"] == "accepted", uploaded.text
        seen = await client.get(
            f"/v1/me/orders/{drop.order_id}/delivery", headers=recording_auth("customer", drop.customer_id)
        )
        assert seen.status_code == 200
        assert seen.json()["photoUrl"]
        # Refusals log too: a bad token, a body echoing the email, a wrong role.
        await client.get(
            f"/v1/orders/{drop.order_id}", headers={"Authorization": f"Bearer {used_tokens[0]}x"}
        )
        await client.put(
            f"/v1/orders/{drop.order_id}",
            json={"customer": {"id": "x", "email": EMAIL, "phone": PHONE}},
            headers=recording_auth("service", "oms"),
        )
        await client.get(f"/v1/orders/{drop.order_id}", headers=recording_auth("courier", drop.courier_id))

    lines = live_api.log.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    ours = [entry for entry in entries if entry.get("request_id") in set(request_ids)]
    assert len(ours) >= len(request_ids), "every request of this test logs at least its access line"

    text = "\n".join(lines)
    lat, lon = DEFAULT_ADDRESS
    secrets_in_clear = {
        **{f"token {i}": token for i, token in enumerate(used_tokens)},
        **{f"token signature {i}": token.rsplit(".", 1)[1] for i, token in enumerate(used_tokens)},
        "email": EMAIL,
        "email local part": "jane.doe",
        "phone": PHONE,
        "phone digits": "9151234567",
        "latitude": f"{lat:.4f}",
        "longitude": f"{lon:.4f}",
    }
    found = {name for name, value in secrets_in_clear.items() if value in text}
    assert not found, f"in clear in the log: {sorted(found)}"
    assert not re.search(r"eyJ[\w-]+\.[\w-]+", text), "a JWT-shaped string is in the log"
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", text), "an email-shaped string is in the log"


def test_redaction_keeps_ids_readable_and_scrubs_the_personal_data_beside_them() -> None:
    """A line with ids and personal data: the ids survive intact, the email and phone numbers do not."""
    claim_id = "123e4567-e89b-12d3-a456-426614174000"  # its last group alone is 12 digits
    photo_hex = uuid.UUID("0b9d2c4e-1111-4222-8333-944455556666").hex
    request_id = "5f0e9a1b2c3d44e5a6b7c8d9e0f11223"
    order_id = "ORD-2026-11-29-000123"
    record = logging.LogRecord(
        "courier_api.claims",
        logging.INFO,
        __file__,
        1,
        "claim %s photo %s order %s rid %s for %s, call +7 999 123-45-67 or 89991234567",
        (claim_id, photo_hex, order_id, request_id, EMAIL),
        None,
    )
    line = json.loads(JsonFormatter().format(record))["msg"]
    for kept in (claim_id, photo_hex, order_id, request_id):
        assert kept in line, (kept, line)
    for personal in (EMAIL, "jane.doe", "+7 999 123-45-67", "999 123-45-67", "89991234567", "9991234567"):
        assert personal not in line, (personal, line)
    assert line.count("<phone>") == 2
    assert "<email>" in line
