"""Near-identical photos uploaded for two orders at once, against a real `courier-api serve`.

The duplicate check must run where the decision commits: whatever the interleaving, one of two
uploads of the same scene for different orders is accepted and the other fails `reuse.duplicate`.
(The in-process test client serves one request at a time, so this goes over real HTTP.)
"""

from __future__ import annotations

import random
import uuid

import httpx

from infra.database import Database
from tests.api.capture_flow import door_drop, failed
from tests.conftest import AuthHeaders
from tests.reliability.conftest import LiveApi
from tests.reliability.racing_uploads import upload_all_at_the_recording_step


async def test_the_same_scene_uploaded_for_two_orders_at_once_is_accepted_once(
    http: httpx.AsyncClient, auth: AuthHeaders, live_db: Database, live_api: LiveApi
) -> None:
    label = f"DD{uuid.uuid4().hex[:10].upper()}"
    # Two flats of one building: the doorstep check compares photos of neighbouring addresses.
    first = await door_drop(http, auth, label_code=label)
    drops = [first, await door_drop(http, auth, label_code=label, at=(first.lat, first.lon))]
    scene = random.Random(label).randrange(1_000_000)  # one scene for both orders: near-duplicates
    photos = [drop.photo(label_text=label, seed=scene) for drop in drops]
    answers = await upload_all_at_the_recording_step(
        http, auth, live_db, live_api.settings.database_url, drops, photos
    )
    assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
    verdicts = sorted(answer.json()["verdict"] for answer in answers)
    assert verdicts == ["accepted", "rejected"], [failed(answer.json()) for answer in answers]
    rejected = next(answer.json() for answer in answers if answer.json()["verdict"] == "rejected")
    assert failed(rejected) == {"reuse.duplicate"}
