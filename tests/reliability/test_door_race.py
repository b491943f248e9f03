"""One door offered for two flats of a building at once, against a real `courier-api serve`.

The doorstep decision runs in the transaction that accepts the photo, under a lock on the map
cells around the address: whatever the interleaving, one upload is accepted and the other fails
`reuse.duplicate`. The two photos differ (another label, another nonce, and the second one's EXIF
orientation), so neither the bytes lock nor a whole-frame hash could have queued them: only the
cell lock does. The in-process test client serves one request at a time, so this goes over real HTTP.
"""

from __future__ import annotations

import random

import httpx

from infra.database import Database
from tests.api.capture_flow import door_drop, failed, somewhere_in_town
from tests.conftest import AuthHeaders
from tests.reliability.conftest import LiveApi
from tests.reliability.racing_uploads import upload_all_at_the_recording_step


async def test_one_door_uploaded_for_two_flats_at_once_is_accepted_once(
    http: httpx.AsyncClient, auth: AuthHeaders, live_db: Database, live_api: LiveApi
) -> None:
    at = somewhere_in_town()
    street = f"Гоночная-{random.randrange(10**9)}"
    drops = [
        await door_drop(http, auth, at=at, address_text=f"Москва, ул. {street}, д. 3, кв. {flat}")
        for flat in (7, 8)
    ]
    door = random.randrange(10**6, 10**7)
    photos = [drops[0].photo(seed=door), drops[1].photo(seed=door, orientation=6)]
    answers = await upload_all_at_the_recording_step(
        http, auth, live_db, live_api.settings.database_url, drops, photos
    )
    assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
    verdicts = sorted(answer.json()["verdict"] for answer in answers)
    assert verdicts == ["accepted", "rejected"], [failed(answer.json()) for answer in answers]
    rejected = next(answer.json() for answer in answers if answer.json()["verdict"] == "rejected")
    assert failed(rejected) == {"reuse.duplicate"}
    assert "1 other address(es)" in next(
        c["detail"] for c in rejected["checks"] if c["code"] == "reuse.duplicate"
    )
