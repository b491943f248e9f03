"""Two uploads made to race at the worst moment, against a real `courier-api serve`.

The in-process test client serves one request at a time, so races go over real HTTP. Both orders'
rows are held until PostgreSQL shows both requests waiting for a lock: each upload has then passed
every check that runs before the accepting transaction, and neither has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import httpx

from infra.database import Database
from tests.api.capture_flow import DoorDrop, lock_waiters
from tests.conftest import AuthHeaders

PHOTOS = "/v1/deliveries/{}/photos"
BLOCKED_DEADLINE_S = 30.0


async def upload_all_at_the_recording_step(
    http: httpx.AsyncClient,
    auth: AuthHeaders,
    db: Database,
    database_url: str,
    drops: Sequence[DoorDrop],
    photos: Sequence[bytes],
) -> list[httpx.Response]:
    """Upload each photo for its order, all held at the recording step until every one waits there."""
    observer = await asyncpg.connect(database_url)
    try:
        async with db.transaction() as uow:
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
        return list(await asyncio.gather(*uploads))
    finally:
        await observer.close()
