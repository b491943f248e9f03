"""`courier-api simulate`: a courier app against the running dev server, over the documented HTTP API only.

It enrolls a device (a bare Ed25519 key, which the server takes while device attestation is off), opens a
capture session, renders a doorstep photo with the order's label and the protocol's EXIF (the session
nonce in ImageUniqueID, the capture time with its offset, GPS), signs the SHA-256 of the exact bytes and
uploads it with an Idempotency-Key. Each scenario bends one of those on purpose so that the server refuses
the photo with the check its name says. The order system's token is used only to pick the order and read
where it is (a real courier app knows its route); the customer's token only for `--customer-claim`.
"""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import httpx
import msgspec

from courier_api.auth import Role, TokenService
from courier_api.demo import demo_orders
from courier_api.simulate.scenarios import Scenario
from eligibility.city_time_zones import city_time_zone
from infra.devstack.doorstep_photo import PhotoSpec, make_device_key, make_photo, offset_point, sign_photo

# Small enough to render and verify in about a second, large enough for every check (≥ 0.5 MP).
PHOTO_SIZE = (1600, 1200)
COURIER_PLATFORM = "android"
_TIMEOUT = httpx.Timeout(60.0)


class SimulationFailed(Exception):
    """The dev server answered something the capture protocol does not lead to; `str()` says what."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """The server to play against and how its tokens are signed (from .courier-dev/state.json)."""

    base_url: str
    jwt_secret: str
    jwt_issuer: str | None = None
    jwt_audience: str | None = None


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    verdict: str
    checks: list[dict[str, Any]]
    customer_link: str
    claim_id: str | None = None
    support_link: str | None = None


def scenario_spec(scenario: Scenario, base: PhotoSpec, *, session_expires_at: datetime) -> PhotoSpec:
    """The honest photo `base`, bent the way `scenario` says."""
    match scenario:
        case "good":
            return base
        case "gallery":
            # A picture from the phone's gallery: no session nonce in its EXIF.
            return dataclasses.replace(base, nonce=None)
        case "wrong-label":
            return dataclasses.replace(base, label_text=f"{base.label_text}X")
        case "label-too-small":
            return dataclasses.replace(base, label_share=0.01)
        case "label-too-large":
            return dataclasses.replace(base, label_share=0.25)
        case "far-away":
            lat, lon = offset_point(base.lat, base.lon, 400.0, 0.0)
            return dataclasses.replace(base, lat=lat, lon=lon)
        case "blurred":
            return dataclasses.replace(base, blur_radius=6.0)
        case "dark":
            return dataclasses.replace(base, brightness=0.3)
        case "late":
            return dataclasses.replace(base, captured_at=session_expires_at + timedelta(hours=1))


def simulate(
    target: Target,
    *,
    scenario: Scenario = "good",
    order_id: str | None = None,
    customer_claim: bool = False,
    say: Callable[[str], None] = print,
    transport: httpx.BaseTransport | None = None,
) -> Outcome:
    """Play one delivery: enroll, open a session, shoot, sign, upload; then the claim if asked."""
    tokens = TokenService(target.jwt_secret, issuer=target.jwt_issuer, audience=target.jwt_audience)
    with httpx.Client(base_url=target.base_url, timeout=_TIMEOUT, transport=transport) as http:
        service = _bearer(tokens, "service", "courier-simulator")
        order = _order(http, service, order_id)
        order_id = str(order["orderId"])
        courier_id = order.get("courierId")
        if not courier_id:
            raise SimulationFailed(f"order {order_id} has no courier assigned")
        courier = _bearer(tokens, "courier", str(courier_id))
        key, public_key = make_device_key()
        device = _expect(
            http.post(
                "/v1/courier/devices",
                json={"publicKey": public_key, "platform": COURIER_PLATFORM},
                headers=courier,
            ),
            201,
            "enroll the device",
        )
        session = _expect(
            http.post(
                f"/v1/deliveries/{order_id}/capture-sessions",
                json={"deviceId": device["deviceId"]},
                headers=courier,
            ),
            201,
            "open a capture session",
        )
        snapshot = order["order"]
        zone = ZoneInfo(city_time_zone(str(snapshot["city"])))
        now = datetime.now(UTC)
        base = PhotoSpec(
            width=PHOTO_SIZE[0],
            height=PHOTO_SIZE[1],
            seed=uuid.UUID(str(session["sessionId"])).int % 1_000_000,
            label_text=str(session["requirements"]["labelCode"]),
            nonce=str(session["nonce"]),
            captured_at=now,
            # What the phone's clock writes into OffsetTimeOriginal where the door is.
            utc_offset=now.astimezone(zone).utcoffset(),
            lat=float(snapshot["address"]["lat"]),
            lon=float(snapshot["address"]["lon"]),
        )
        expires_at = datetime.fromisoformat(str(session["expiresAt"]))
        photo = make_photo(scenario_spec(scenario, base, session_expires_at=expires_at))
        say(f"order {order_id}: scenario {scenario}, {len(photo):,} bytes, session {session['sessionId']}")
        attempt = _expect(
            http.post(
                f"/v1/deliveries/{order_id}/photos",
                content=photo,
                headers={
                    **courier,
                    "Content-Type": "image/jpeg",
                    "X-Capture-Session": str(session["sessionId"]),
                    "X-Capture-Signature": sign_photo(photo, key),
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            ),
            201,
            "upload the photo",
        )
        say(f"verdict: {attempt['verdict']} (order {attempt['delivery']['status']})")
        for check in attempt["checks"]:
            mark = "ok  " if check["passed"] else "FAIL"
            say(f"  {mark} {check['code']}: {check['detail']}")
        customer_id = str(snapshot["customer"]["id"])
        customer_link = _link(tokens, target, "customer", customer_id, f"/orders/{order_id}")
        say(f"customer page (signs in {customer_id}): {customer_link}")
        say(f"dev mailbox: {target.base_url}/dev/notifications")
        outcome = Outcome(
            order_id=order_id,
            verdict=str(attempt["verdict"]),
            checks=list(attempt["checks"]),
            customer_link=customer_link,
        )
        if not customer_claim:
            return outcome
        claim = _expect(
            http.post(
                f"/v1/me/orders/{order_id}/claims",
                json={"kind": "not_received", "comment": "Нет у двери (courier-api simulate)"},
                headers=_bearer(tokens, "customer", customer_id),
            ),
            201,
            "open a not-received claim as the customer",
        )
        support_link = _link(tokens, target, "support", "support-1", f"/support/orders/{order_id}")
        say(f"claim {claim['claimId']} opened ({claim['status']}); decide it as support: {support_link}")
        return msgspec.structs.replace(outcome, claim_id=str(claim["claimId"]), support_link=support_link)


def _bearer(tokens: TokenService, role: Role, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.mint(role=role, sub=sub)}"}


def _link(tokens: TokenService, target: Target, role: Role, sub: str, path: str) -> str:
    """A page link that signs `sub` in (a full sign-in, so the customer may open a claim from it)."""
    return f"{target.base_url}{path}?token={tokens.mint(role=role, sub=sub)}"


def _order(http: httpx.Client, service: dict[str, str], order_id: str | None) -> dict[str, Any]:
    """The named order, or the first demo order still pending."""
    if order_id is not None:
        return _expect(http.get(f"/v1/orders/{order_id}", headers=service), 200, f"read order {order_id}")
    for demo_id in demo_orders():
        order = _expect(http.get(f"/v1/orders/{demo_id}", headers=service), 200, f"read order {demo_id}")
        if order["status"] == "pending":
            return order
    raise SimulationFailed("every demo order is delivered; name one with --order")


def _expect(response: httpx.Response, status: int, step: str) -> dict[str, Any]:
    if response.status_code != status:
        problem = response.text[:500]
        raise SimulationFailed(f"could not {step}: HTTP {response.status_code} {problem}")
    body: dict[str, Any] = response.json()
    return body


def print_to(stream: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    return say


def run_from_cli(target: Target, *, scenario: Scenario, order_id: str | None, customer_claim: bool) -> int:
    """The `simulate` command: 0 when the server answered as the protocol says, whatever the verdict."""
    try:
        simulate(
            target,
            scenario=scenario,
            order_id=order_id,
            customer_claim=customer_claim,
            say=print_to(sys.stdout),
        )
    except (SimulationFailed, httpx.HTTPError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0
