"""Two uploads from one App Attest device carrying the same counter, racing on a real `courier-api serve`.

Both must reach the accepting transaction having verified against the same stored counter; only one may
spend it. The test holds the device row until PostgreSQL shows both requests waiting for it: the worst
interleaving, made certain instead of left to chance.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from infra.database import Database
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.settings import Settings
from tests.api.attestation_flow import PHOTOS, courier, enroll_ios, open_drop
from tests.api.capture_flow import failed, lock_waiters
from tests.conftest import AuthHeaders
from tests.processes import service_env, start_api, stop
from tests.unit.device_attestation.attestation_builders import APPLE_APP_ID, AttestationPki, make_pki

BLOCKED_DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def pki() -> AttestationPki:
    return make_pki(datetime.now(UTC))


@pytest.fixture(scope="module")
def attested_api(
    live_settings: Settings,
    dev_stack: DevStack,
    pki: AttestationPki,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """`courier-api serve` as production runs it (DEVICE_ATTESTATION=required), trusting the test root."""
    folder = tmp_path_factory.mktemp("attested-api")
    roots = folder / "root.pem"
    roots.write_bytes(pki.root_pem)
    env = service_env(
        live_settings,
        s3_credentials=dev_stack.s3_credentials,
        DEVICE_ATTESTATION="required",
        APPLE_APP_IDS=APPLE_APP_ID,
        APPLE_ATTESTATION_ROOTS=str(roots),
        DB_POOL_MAX="4",
    )
    port = free_port()
    process = start_api(env, port, log=folder / "api.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
async def attested_http(attested_api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=attested_api, timeout=60.0) as client:
        yield client


async def test_one_assertion_counter_is_spent_once_by_racing_uploads(
    attested_http: httpx.AsyncClient,
    auth: AuthHeaders,
    pki: AttestationPki,
    live_db: Database,
    live_settings: Settings,
) -> None:
    someone = courier()
    enrolled, key = await enroll_ios(attested_http, auth, pki, someone)
    assert enrolled.status_code == 201, enrolled.text
    device_id = enrolled.json()["deviceId"]
    racers = [await open_drop(attested_http, auth, someone, device_id, key) for _ in range(2)]
    photos = [racer.drop.photo() for racer in racers]
    observer = await asyncpg.connect(live_settings.database_url)
    try:
        async with live_db.transaction() as uow:
            await uow.devices.get(uuid.UUID(device_id), for_update=True)
            uploads = [
                asyncio.create_task(
                    attested_http.post(
                        PHOTOS.format(racer.drop.order_id),
                        content=photo,
                        headers=racer.ios_headers(auth, photo, counter=1),
                    )
                )
                for racer, photo in zip(racers, photos, strict=True)
            ]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + BLOCKED_DEADLINE_S
            while await lock_waiters(observer) < len(uploads):
                assert not any(task.done() for task in uploads), [
                    t.result().text for t in uploads if t.done()
                ]
                assert loop.time() < deadline, "the uploads never reached the accepting transaction"
                await asyncio.sleep(0.02)  # polling PostgreSQL for a state, not waiting for time
        answers = await asyncio.gather(*uploads)
    finally:
        await observer.close()
    assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
    verdicts = sorted(answer.json()["verdict"] for answer in answers)
    assert verdicts == ["accepted", "rejected"], [answer.json() for answer in answers]
    loser = next(answer.json() for answer in answers if answer.json()["verdict"] == "rejected")
    assert failed(loser) == {"provenance.signature"}
    async with live_db.transaction() as uow:
        device = await uow.devices.get(uuid.UUID(device_id))
    assert device is not None
    assert device.assertion_counter == 1
