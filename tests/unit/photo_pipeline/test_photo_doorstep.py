"""The doorstep fingerprint: the same door across deliveries, not the neighbour's, not fooled by edits.

A small deterministic set from `tests.doorstep_factory` (the bench runs hundreds of pairs): two
apartments of one building (same door model, another number, mat and wall marks), three
deliveries each, and the edits a courier would make to an old photo.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photo_pipeline import Expectations, PhotoLimits, verify
from photo_pipeline.doorstep import MATCH_MIN_INLIERS, compare_doorsteps
from tests.doorstep_factory import EVASIONS, Doorstep, Evasion, evade, random_shot, shoot
from tests.photo_factory import PhotoSpec, make_photo

DAYS = 3
_HOME = Doorstep(building=9001, door=0)
_NEIGHBOUR = Doorstep(building=9001, door=1)


@pytest.fixture(scope="module")
def deliveries(expectations: Expectations, limits: PhotoLimits) -> dict[tuple[int, int], bytes]:
    """Fingerprints of 3 deliveries to each of two neighbouring doors, keyed (door, day)."""
    rng = np.random.default_rng(14)
    prints: dict[tuple[int, int], bytes] = {}
    for door in (_HOME, _NEIGHBOUR):
        for day in range(DAYS):
            prints[(door.door, day)] = verify(shoot(door, random_shot(rng)), expectations, limits).doorstep
    return prints


def test_the_same_door_matches_on_every_other_day(deliveries: dict[tuple[int, int], bytes]) -> None:
    for door, (i, j) in itertools.product((0, 1), itertools.combinations(range(DAYS), 2)):
        result = compare_doorsteps(deliveries[(door, i)], deliveries[(door, j)])
        assert result.matched, (door, i, j, result)


def test_the_neighbours_door_of_the_same_model_does_not_match(
    deliveries: dict[tuple[int, int], bytes],
) -> None:
    for i, j in itertools.product(range(DAYS), range(DAYS)):
        result = compare_doorsteps(deliveries[(0, i)], deliveries[(1, j)])
        assert not result.matched, (i, j, result)
        assert result.score < MATCH_MIN_INLIERS // 2 + 4, "too close to the threshold"


@pytest.mark.parametrize("kind", EVASIONS)
def test_an_edited_copy_of_an_accepted_photo_still_matches(
    kind: Evasion, expectations: Expectations, limits: PhotoLimits
) -> None:
    original = shoot(_HOME, random_shot(np.random.default_rng(77)))
    edited = evade(original, kind, seed=5)
    first = verify(original, expectations, limits).doorstep
    second = verify(edited, expectations, limits).doorstep
    assert compare_doorsteps(first, second).matched
    assert compare_doorsteps(second, first).matched


def test_the_same_parcel_and_label_at_the_neighbours_door_do_not_make_a_match(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    # The courier keeps the parcel and photographs it, framed identically, at the next door: the
    # label sheet (and the parcel face around it) are masked, so only the doors are compared.
    shot = random_shot(np.random.default_rng(3))
    home = verify(shoot(_HOME, shot), expectations, limits)
    neighbour = verify(shoot(_NEIGHBOUR, shot), expectations, limits)
    assert home.decoded_label is not None
    assert not compare_doorsteps(home.doorstep, neighbour.doorstep).matched


def test_a_portrait_stored_sideways_matches_the_same_scene_stored_upright(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    upright = verify(make_photo(PhotoSpec(seed=1, width=2000, height=1500)), expectations, limits)
    sideways = verify(
        make_photo(PhotoSpec(seed=1, width=2000, height=1500, orientation=6)), expectations, limits
    )
    result = compare_doorsteps(upright.doorstep, sideways.doorstep)
    assert result.matched
    assert result.orientation == 1, "the fingerprint is of the displayed photo"


def test_the_fingerprint_is_compact_and_self_describing(deliveries: dict[tuple[int, int], bytes]) -> None:
    for fingerprint in deliveries.values():
        assert fingerprint[0] == 1
        assert len(fingerprint) <= 5_100
    with pytest.raises(ValueError, match="fingerprint"):
        compare_doorsteps(b"\x01garbage", deliveries[(0, 0)])
    truncated = deliveries[(0, 0)][:-1]
    with pytest.raises(ValueError, match="fingerprint"):
        compare_doorsteps(deliveries[(0, 0)], truncated)


def test_a_blank_wall_never_matches() -> None:
    # No corners (a white wall, the lens covered): nothing to agree on is not a match.
    blank = bytes([1]) + (512).to_bytes(2, "little") + (384).to_bytes(2, "little") + (0).to_bytes(2, "little")
    assert compare_doorsteps(blank, blank).matched is False
