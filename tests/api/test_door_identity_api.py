"""Door identity through the API on real PostgreSQL and S3: whose door a doorstep is decides the verdict.

Doorsteps come from `tests/photo_factory.py` scenes: one `seed` is one doorstep (door, wall, floor),
photographed again with another order's label and nonce; another seed is another door.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.capture_flow import Client, DoorDrop, door_drop, failed, somewhere_in_town
from tests.conftest import AuthHeaders

PHOTOS = "/v1/deliveries/{}/photos"


def check(answer: dict[str, Any], code: str) -> dict[str, Any]:
    [found] = [c for c in answer["checks"] if c["code"] == code]
    assert isinstance(found, dict)
    return found


def flat(building: str, number: int) -> str:
    return f"Москва, ул. {building}, д. 7, кв. {number}"


async def deliver(
    client: Client, auth: AuthHeaders, drop: DoorDrop, door: int, **photo: Any
) -> dict[str, Any]:
    data = drop.photo(seed=door, **photo)
    answer = await client.post(PHOTOS.format(drop.order_id), content=data, headers=drop.headers(auth, data))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def a_building() -> tuple[tuple[float, float], str, int]:
    """A place, a street name and a door nobody else in the session uses."""
    return somewhere_in_town(), f"Тестовая-{uuid.uuid4().hex[:8]}", random.randrange(10**6, 10**7)


async def test_the_first_delivery_to_an_address_has_no_door_check_and_no_advisory(
    client: Client, auth: AuthHeaders
) -> None:
    at, street, door = a_building()
    drop = await door_drop(client, auth, at=at, address_text=flat(street, 1))
    answer = await deliver(client, auth, drop, door)
    assert answer["verdict"] == "accepted", failed(answer)
    assert not {c["code"] for c in answer["checks"]} & {"door.matches_history", "door.unfamiliar"}
    assert {c["severity"] for c in answer["checks"]} == {"blocking"}
    assert check(answer, "reuse.duplicate")["passed"]


async def test_a_repeat_delivery_to_the_same_door_is_accepted_as_matching_its_history(
    client: Client, auth: AuthHeaders
) -> None:
    """The honest repeat customer the whole-frame hash used to refuse as a duplicate."""
    at, street, door = a_building()
    first = await door_drop(client, auth, at=at, address_text=flat(street, 12))
    assert (await deliver(client, auth, first, door))["verdict"] == "accepted"
    # The same flat spelt otherwise by the upstream system; a week later, a new order, a new label.
    again = await door_drop(client, auth, at=at, address_text=f"г. Москва, улица {street} дом 7 квартира 12")
    answer = await deliver(client, auth, again, door, captured_at=datetime.now(UTC) + timedelta(seconds=1))
    assert answer["verdict"] == "accepted", failed(answer)
    assert check(answer, "reuse.duplicate")["passed"]
    assert check(answer, "door.matches_history") == {
        "code": "door.matches_history",
        "passed": True,
        "detail": "the doorstep matches 1 of 1 earlier accepted photo(s) of this address",
        "severity": "blocking",
    }


async def test_a_door_offered_as_proof_for_another_flat_is_a_duplicate_linked_for_support(
    client: Client, auth: AuthHeaders
) -> None:
    at, street, door = a_building()
    mine = await door_drop(client, auth, at=at, address_text=flat(street, 12))
    assert (await deliver(client, auth, mine, door))["verdict"] == "accepted"
    # The neighbour's order, same building: the courier photographs the parcel at flat 12's door.
    neighbour = await door_drop(client, auth, at=at, address_text=flat(street, 13))
    answer = await deliver(client, auth, neighbour, door)
    assert answer["verdict"] == "rejected"
    assert failed(answer) == {"reuse.duplicate"}
    reuse = check(answer, "reuse.duplicate")
    assert reuse["severity"] == "blocking"
    assert "1 other address(es)" in reuse["detail"]
    assert "relatedOrders" not in reuse  # the courier is not told whose door it is
    # Changing only the EXIF orientation does not hide it.
    turned = await deliver(client, auth, neighbour, door, orientation=6)
    assert failed(turned) == {"reuse.duplicate"}, failed(turned)
    evidence = await client.get(
        f"/v1/support/orders/{neighbour.order_id}/evidence", headers=auth("support", "agent-door")
    )
    assert evidence.status_code == 200, evidence.text
    [support_view] = [c for c in evidence.json()["attempts"][0]["checks"] if c["code"] == "reuse.duplicate"]
    assert support_view["relatedOrders"] == [mine.order_id]


async def test_the_same_door_under_two_upstream_address_ids_is_two_addresses(
    client: Client, auth: AuthHeaders
) -> None:
    """With `address.id`, the id decides: the same text under another id is another flat."""
    at, street, door = a_building()
    tag = uuid.uuid4().hex[:12]
    first = await door_drop(client, auth, at=at, address_text=flat(street, 5), address_id=f"A-{tag}-5")
    assert (await deliver(client, auth, first, door))["verdict"] == "accepted"
    other = await door_drop(client, auth, at=at, address_text=flat(street, 5), address_id=f"A-{tag}-6")
    assert failed(await deliver(client, auth, other, door)) == {"reuse.duplicate"}
    same = await door_drop(client, auth, at=at, address_text=flat(street, 55), address_id=f"A-{tag}-5")
    answer = await deliver(client, auth, same, door)
    assert answer["verdict"] == "accepted", failed(answer)
    assert check(answer, "door.matches_history")["passed"]


async def test_another_door_at_an_address_with_two_accepted_photos_is_accepted_with_an_advisory(
    client: Client, auth: AuthHeaders
) -> None:
    at, street, door = a_building()
    city = "VVO"
    address = flat(street, 40)
    for _ in range(2):
        drop = await door_drop(client, auth, at=at, address_text=address, city=city)
        assert (await deliver(client, auth, drop, door))["verdict"] == "accepted"
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}

    async def city_advisories() -> int:
        report = await client.get("/v1/admin/incidents", params=window, headers=auth("admin", "a"))
        assert report.status_code == 200, report.text
        return sum(c["advisories"] for c in report.json()["cities"] if c["city"] == city)

    before = await city_advisories()
    elsewhere = await door_drop(client, auth, at=at, address_text=address, city=city)
    answer = await deliver(client, auth, elsewhere, door + 1)  # a different door
    assert answer["verdict"] == "accepted", failed(answer)
    assert answer["delivery"] == {"status": "left_at_door"}
    assert failed(answer) == {"door.unfamiliar"}
    unfamiliar = check(answer, "door.unfamiliar")
    assert unfamiliar["severity"] == "advisory"
    assert "none of the 2 earlier accepted photos" in unfamiliar["detail"]

    evidence = await client.get(
        f"/v1/support/orders/{elsewhere.order_id}/evidence", headers=auth("support", "agent-door")
    )
    [shown] = [c for c in evidence.json()["attempts"][0]["checks"] if c["code"] == "door.unfamiliar"]
    assert (shown["passed"], shown["severity"]) == (False, "advisory")

    assert await city_advisories() == before + 1
    report = (await client.get("/v1/admin/incidents", params=window, headers=auth("admin", "a"))).json()
    [week] = [w for w in report["weeks"] if w["city"] == city and w["advisories"]][-1:]
    assert week["advisories"] >= 1
    [courier] = [c for c in report["couriers"] if c["courierId"] == elsewhere.courier_id]
    assert courier == {"courierId": elsewhere.courier_id, "city": city, "attempts": 1, "advisories": 1}
