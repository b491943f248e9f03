"""Door drops prepared over the API before timing: orders, opt-in, a device, one capture session each,
and one signed 12 MP photo per session written to disk (generated in a process pool).

Every photo gets its own scene seed: the server rejects near-duplicate scenes across orders
(`reuse.duplicate`), and a moved label on the same background is still a near-duplicate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from courier_api.auth import TokenService
from tests.factories import order_body
from tests.photo_factory import DEFAULT_ADDRESS, PhotoSpec, make_device_key, make_photo

COURIER = "bench-courier"
# Each courier and each device may upload 120 photos per 10 minutes (DEFAULT_LIMITS): a long run
# spreads its drops over several couriers, each with its own device, so no upload is refused.
DROPS_PER_COURIER = 100


@dataclass(frozen=True)
class PreparedDrop:
    courier_id: str
    order_id: str
    customer_id: str
    session_id: str
    nonce: str
    label: str
    seed: int


@dataclass(frozen=True)
class Upload:
    order_id: str
    customer_id: str
    path: str
    headers: dict[str, str]


async def prepare_drops(
    base_url: str, tokens: TokenService, count: int, first_seed: int
) -> tuple[list[PreparedDrop], dict[str, Ed25519PrivateKey]]:
    """Create `count` opted-in orders, open a session each; one courier and device per 100 drops."""
    service = {"Authorization": f"Bearer {tokens.mint(role='service', sub='bench-oms')}"}
    lat, lon = DEFAULT_ADDRESS
    couriers = [f"{COURIER}-{first_seed}-{n}" for n in range(max(1, -(-count // DROPS_PER_COURIER)))]
    keys: dict[str, Ed25519PrivateKey] = {}
    devices: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        for courier_id in couriers:
            key, public_b64 = make_device_key()
            enrolled = await client.post(
                "/v1/courier/devices",
                json={"publicKey": public_b64, "platform": "android"},
                headers={"Authorization": f"Bearer {tokens.mint(role='courier', sub=courier_id)}"},
            )
            enrolled.raise_for_status()
            keys[courier_id], devices[courier_id] = key, enrolled.json()["deviceId"]
        semaphore = asyncio.Semaphore(8)

        async def one(index: int) -> PreparedDrop:
            courier_id = couriers[index // DROPS_PER_COURIER]
            courier = {"Authorization": f"Bearer {tokens.mint(role='courier', sub=courier_id)}"}
            order_id = f"bench-{uuid.uuid4().hex[:12]}"
            customer_id = f"bench-cust-{uuid.uuid4().hex[:8]}"
            label = f"DD{uuid.uuid4().hex[:10].upper()}"
            customer = {"Authorization": f"Bearer {tokens.mint(role='customer', sub=customer_id)}"}
            body = order_body(customer_id=customer_id, label_code=label, lat=lat, lon=lon)
            async with semaphore:
                steps = [
                    await client.put(f"/v1/orders/{order_id}", json=body, headers=service),
                    await client.put(
                        f"/v1/orders/{order_id}/courier", json={"courierId": courier_id}, headers=service
                    ),
                    await client.put(
                        f"/v1/orders/{order_id}/door-drop", json={"enabled": True}, headers=customer
                    ),
                    opened := await client.post(
                        f"/v1/deliveries/{order_id}/capture-sessions",
                        json={"deviceId": devices[courier_id]},
                        headers=courier,
                    ),
                ]
            for step in steps:
                step.raise_for_status()
            session = opened.json()
            return PreparedDrop(
                courier_id=courier_id,
                order_id=order_id,
                customer_id=customer_id,
                session_id=session["sessionId"],
                nonce=session["nonce"],
                label=label,
                seed=first_seed + index,
            )

        drops = await asyncio.gather(*(one(i) for i in range(count)))
    return list(drops), keys


def _render(label: str, nonce: str, seed: int, path: str) -> str:
    # In a pool process: the caller signs, since the device key stays in the parent.
    data = make_photo(PhotoSpec(label_text=label, nonce=nonce, seed=seed, captured_at=datetime.now(UTC)))
    Path(path).write_bytes(data)
    return path


def render_uploads(
    drops: list[PreparedDrop],
    keys: dict[str, Ed25519PrivateKey],
    tokens: TokenService,
    folder: Path,
    *,
    processes: int,
) -> list[Upload]:
    """One signed photo per session, on disk; returns what the load generator sends."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        paths = list(
            pool.map(
                _render,
                [d.label for d in drops],
                [d.nonce for d in drops],
                [d.seed for d in drops],
                [str(folder / f"{d.order_id}.jpg") for d in drops],
            )
        )
    bearer = {courier_id: f"Bearer {tokens.mint(role='courier', sub=courier_id)}" for courier_id in keys}
    uploads = []
    for drop, path in zip(drops, paths, strict=True):
        digest = hashlib.sha256(Path(path).read_bytes()).digest()
        uploads.append(
            Upload(
                order_id=drop.order_id,
                customer_id=drop.customer_id,
                path=path,
                headers={
                    "Authorization": bearer[drop.courier_id],
                    "Content-Type": "image/jpeg",
                    "X-Capture-Session": drop.session_id,
                    "X-Capture-Signature": base64.b64encode(keys[drop.courier_id].sign(digest)).decode(
                        "ascii"
                    ),
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
        )
    return uploads
