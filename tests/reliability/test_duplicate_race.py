"""Near-identical photos uploaded for two orders at once, against a real `courier-api serve`.

The duplicate check must run where the decision commits: whatever the interleaving, one of two
uploads of the same scene for different orders is accepted and the other fails `reuse.duplicate`.
(The in-process test client serves one request at a time, so this goes over real HTTP.)
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg
import httpx

from infra.database import Database
from tests.api.capture_flow import door_drop
from tests.conftest import AuthHeaders
from tests.reliability.conftest import LiveApi

PHOTOS = "/v1/deliveries/{}/photos"
BLOCKED_DEADLINE_S = 30.0


def failed(answer: dict[str, Any]) -> set[str]:
    return {check["code"] for check in answer["checks"] if not check["passed"]}


async def lock_waiters(conn: asyncpg.Connection) -> int:
    found = await conn.fetchval(
        "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
    )
    return int(found)


async def test_the_same_scene_uploaded_for_two_orders_at_once_is_accepted_once(
    http: httpx.AsyncClient, auth: AuthHeaders, live_db: Database, live_api: LiveApi
) -> None:
    label = f"DD{uuid.uuid4().hex[:10].upper()}"
    # Two flats of one building: the doorstep check compares photos of neighbouring addresses.
    first = await door_drop(http, auth, label_code=label)
    drops = [first, await door_drop(http, auth, label_code=label, at=(first.lat, first.lon))]
    scene = random.Random(label).randrange(1_000_000)  # one scene for both orders: near-duplicates
    photos = [drop.photo(label_text=label, seed=scene) for drop in drops]
    observer = await asyncpg.connect(live_api.settings.database_url)
    try:
        # Hold both orders' rows, so both uploads reach the moment of recording before either
        # commits: the worst interleaving, made certain instead of left to chance.
        async with live_db.transaction() as uow:
            for drop in drops:
                await uow.orders.get(drop.order_id, for_update=True)
            uploads = [
                asyncio.create_task(
                    http.post(PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data))
                )
                for drop, data in zip(drops, photos, strict=True)
            ]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + BLOCKED_DEADLINE_S
            while await lock_waiters(observer) < len(uploads):
                assert not any(task.done() for task in uploads), "an upload finished past a held lock"
                assert loop.time() < deadline, "the uploads never reached the recording step"
                await asyncio.sleep(0.02)  # polling PostgreSQL for a state, not waiting for time
        answers = await asyncio.gather(*uploads)
    finally:
        await observer.close()
    assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
    verdicts = sorted(answer.json()["verdict"] for answer in answers)
    assert verdicts == ["accepted", "rejected"], [failed(answer.json()) for answer in answers]
    rejected = next(answer.json() for answer in answers if answer.json()["verdict"] == "rejected")
    assert failed(rejected) == {"reuse.duplicate"}
