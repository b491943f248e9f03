"""The door verdict from comparison results: which address a matching doorstep belongs to decides."""

from __future__ import annotations

from courier_api.use_cases.doorsteps import ComparedPhoto, RecordedCheck, door_checks

HERE = "text:москва улица тверская 7 квартира 12"
NEIGHBOUR = "text:москва улица тверская 7 квартира 13"
UPSTAIRS = "id:addr-99"


def photo(order_id: str, address: str, *, matched: bool) -> ComparedPhoto:
    return ComparedPhoto(order_id=order_id, address_key=address, matched=matched)


def by_code(checks: list[RecordedCheck]) -> dict[str, RecordedCheck]:
    return {check.code: check for check in checks}


def test_the_first_delivery_to_an_address_has_no_door_check_and_no_advisory() -> None:
    checks = door_checks(address=HERE, compared=[photo("o-n", NEIGHBOUR, matched=False)], same_bytes=[])
    assert [c.code for c in checks] == ["reuse.duplicate"]
    assert not any(c.blocks for c in checks)


def test_another_addresss_door_is_a_blocking_duplicate_naming_the_addresses_and_their_orders() -> None:
    compared = [
        photo("o-1", NEIGHBOUR, matched=True),
        photo("o-2", NEIGHBOUR, matched=True),
        photo("o-3", UPSTAIRS, matched=True),
        photo("o-4", UPSTAIRS, matched=False),
    ]
    reuse = by_code(door_checks(address=HERE, compared=compared, same_bytes=[]))["reuse.duplicate"]
    assert reuse.blocks
    assert "2 other address(es)" in reuse.detail
    assert reuse.related_orders == ("o-1", "o-2", "o-3")


def test_exact_bytes_are_a_duplicate_even_without_a_doorstep_match() -> None:
    reuse = door_checks(address=HERE, compared=[], same_bytes=["o-9"])[0]
    assert reuse.blocks
    assert "1 other order(s)" in reuse.detail
    assert reuse.related_orders == ("o-9",)


def test_a_match_with_the_addresss_own_history_passes() -> None:
    compared = [photo("o-1", HERE, matched=False), photo("o-2", HERE, matched=True)]
    checks = by_code(door_checks(address=HERE, compared=compared, same_bytes=[]))
    assert checks["reuse.duplicate"].passed
    assert checks["door.matches_history"].passed
    assert "1 of 2" in checks["door.matches_history"].detail


def test_an_unfamiliar_door_at_a_known_address_is_advisory_and_never_blocks() -> None:
    compared = [photo("o-1", HERE, matched=False), photo("o-2", HERE, matched=False)]
    unfamiliar = by_code(door_checks(address=HERE, compared=compared, same_bytes=[]))["door.unfamiliar"]
    assert not unfamiliar.passed
    assert unfamiliar.severity == "advisory"
    assert not unfamiliar.blocks


def test_one_earlier_photo_that_does_not_match_is_not_yet_history() -> None:
    checks = door_checks(address=HERE, compared=[photo("o-1", HERE, matched=False)], same_bytes=[])
    assert [c.code for c in checks] == ["reuse.duplicate"]
