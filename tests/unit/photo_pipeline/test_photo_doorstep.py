"""The doorstep fingerprint: the same door across deliveries, not the neighbour's, not fooled by edits.

A small deterministic set from `tests.doorstep_factory` (the bench runs hundreds of pairs): two
apartments of one building (same door model, another number, mat and wall marks), three
deliveries each, and the edits a courier would make to an old photo.
"""

from __future__ import annotations

import importlib
import io
import itertools
import tracemalloc

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from scipy.ndimage import maximum_filter  # type: ignore[import-untyped]

from photo_pipeline import Expectations, PhotoLimits, doorstep, verify
from photo_pipeline.doorstep import (
    DOORSTEP_FORMAT,
    MATCH_MIN_INLIERS,
    Occluder,
    compare_doorsteps,
    compare_with_many,
)
from tests.doorstep_factory import EVASIONS, Doorstep, Evasion, evade, random_shot, shoot
from tests.doorstep_format1 import format1_fingerprint
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
        assert fingerprint[0] == DOORSTEP_FORMAT == 2
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


def test_stored_format_1_fingerprints_compare_with_format_2_as_they_did_with_each_other(
    expectations: Expectations, limits: PhotoLimits, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Photos accepted before format 2 keep their format-1 fingerprints in the database: every
    # pairing of old and new must decide as two old ones did (same door matches, neighbour not).
    rng = np.random.default_rng(16)
    photos = [shoot(door, random_shot(rng)) for door in (_HOME, _NEIGHBOUR) for _ in range(2)]
    new = [verify(data, expectations, limits).doorstep for data in photos]
    # `photo_pipeline.verify` is also the function's name in the package: the module itself.
    monkeypatch.setattr(
        importlib.import_module("photo_pipeline.verify"), "doorstep_fingerprint", format1_fingerprint
    )
    old = [verify(data, expectations, limits).doorstep for data in photos]
    assert {fingerprint[0] for fingerprint in new} == {2}
    assert {fingerprint[0] for fingerprint in old} == {1}
    for i, j in itertools.product(range(len(photos)), repeat=2):
        if i == j:
            continue
        expected = compare_doorsteps(old[i], old[j]).matched
        assert expected == (i // 2 == j // 2)
        assert compare_doorsteps(new[i], old[j]).matched == expected, (i, j)
        assert compare_doorsteps(old[i], new[j]).matched == expected, (i, j)
        assert compare_doorsteps(new[i], new[j]).matched == expected, (i, j)


def _strongest(fingerprint: bytes, count: int) -> bytes:
    """The same fingerprint keeping only its `count` strongest corners (a plainer doorstep)."""
    total = int.from_bytes(fingerprint[5:7], "little")
    coords, grids = fingerprint[7 : 7 + 4 * count], fingerprint[7 + 4 * total : 7 + 4 * total + 16 * count]
    return fingerprint[:5] + count.to_bytes(2, "little") + coords + grids


def test_comparing_with_many_gives_each_pairwise_result_and_none_for_an_unreadable_one(
    deliveries: dict[tuple[int, int], bytes],
) -> None:
    blank = bytes([2]) + (512).to_bytes(2, "little") + (384).to_bytes(2, "little") + (0).to_bytes(2, "little")
    # Fewer corners than the quick look's 96, and than a match needs.
    plain = [_strongest(f, n) for f in list(deliveries.values())[:3] for n in (60, 20)]
    stored = [*deliveries.values(), *plain, blank, b"\x09not a fingerprint"]
    for upload in stored[:-1]:
        results = compare_with_many(upload, stored)
        assert results[:-1] == [compare_doorsteps(upload, fingerprint) for fingerprint in stored[:-1]]
        assert results[-1] is None
    [match] = compare_with_many(deliveries[(0, 0)], [_strongest(deliveries[(0, 0)], 60)])
    assert match is not None
    assert match.matched


def _exact_fingerprint(stored: Image.Image, orientation: int, occluders: tuple[Occluder, ...]) -> bytes:
    """The fingerprint as its docstring defines it, the slow plain way: int64 integral images."""

    def box(image: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.int64]:
        r = size // 2
        padded = np.pad(image, ((r + 1, r), (r + 1, r)), mode="edge")
        padded[0, :] = padded[:, 0] = 0
        total = padded.cumsum(axis=0).cumsum(axis=1)
        h, w = image.shape
        sums: npt.NDArray[np.int64] = (
            total[size:, size:][:h, :w]
            - total[:-size, size:][:h, :w]
            - total[size:, :-size][:h, :w]
            + total[:-size, :-size][:h, :w]
        )
        return sums

    factor = doorstep.WORK_SIDE / max(stored.size)
    size = (round(stored.width * factor), round(stored.height * factor))
    work = np.asarray(stored.resize(size, Image.Resampling.BOX, reducing_gap=2.0), dtype=np.int64)
    sums3 = box(work, 3)
    gx, gy = np.zeros_like(sums3), np.zeros_like(sums3)
    gx[:, 1:-1] = sums3[:, 2:] - sums3[:, :-2]
    gy[1:-1] = sums3[2:] - sums3[:-2]
    sxx, syy, sxy = (box(g, 5).astype(np.float32) for g in (gx * gx, gy * gy, gx * gy))
    response = sxx * syy - sxy * sxy - np.float32(0.05) * (sxx + syy) ** 2
    window = 2 * doorstep._NMS + 1
    peaks = (response >= maximum_filter(response, window, mode="constant", cval=-np.inf)) & (response > 0)
    height, width = work.shape
    edge = doorstep._BORDER
    peaks[:edge] = peaks[-edge:] = False
    peaks[:, :edge] = peaks[:, -edge:] = False
    for o in occluders:
        y0, y1 = int(o.top * height), int(np.ceil(o.bottom * height))
        x0, x1 = int(o.left * width), int(np.ceil(o.right * width))
        peaks[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
    ys, xs = np.nonzero(peaks)
    strength = response[ys, xs]
    order = np.argsort(-strength, kind="stable")[: doorstep.MAX_POINTS]
    order = order[strength[order] > strength[order[0]] * doorstep._WEAK]
    points = np.stack([xs[order], ys[order]], axis=1)
    bits = np.zeros((len(points), 2, 8, 8), dtype=np.bool_)
    for index, (cell, sums) in enumerate(((2, sums3), (4, box(work, 5)))):
        offsets = (np.arange(8) * 2 - 7) * cell // 2
        values = sums[(points[:, 1, None] + offsets)[:, :, None], (points[:, 0, None] + offsets)[:, None, :]]
        bits[:, index] = values * 64 > values.sum(axis=(1, 2), keepdims=True)
    turned, bits, (width, height) = doorstep._orient(
        points.astype(np.float32), bits, width, height, orientation
    )
    head = doorstep._HEADER.pack(2, width, height, len(turned))
    coords = np.clip(np.round(turned * 64.0), 0, 65535).astype("<u2").tobytes()
    return head + coords + np.packbits(bits.reshape(len(bits), 128), axis=1).tobytes()


@pytest.mark.parametrize("orientation", [1, 6])
def test_the_fingerprint_is_the_exact_arithmetic_in_every_part_of_the_frame(orientation: int) -> None:
    # Format 1 summed its windows in float32 integral images, which round once a running total
    # passes 2^24: corners and grids in the lower right of the frame came out of rounded sums.
    rng = np.random.default_rng(7)
    photo = Image.open(io.BytesIO(shoot(_HOME, random_shot(rng)))).convert("L").reduce(3)  # ~667x500
    occluders = (Occluder(left=0.4, top=0.55, right=0.6, bottom=0.9),)
    fingerprint = doorstep.doorstep_fingerprint(photo, orientation, occluders)
    assert fingerprint[1:] == _exact_fingerprint(photo, orientation, occluders)[1:]


def test_the_door_verdicts_comparison_decides_as_the_exact_one(
    deliveries: dict[tuple[int, int], bytes], expectations: Expectations, limits: PhotoLimits
) -> None:
    # The same photo sent again with another nonce (every corner agrees), the other days, the neighbour.
    again = verify(shoot(_HOME, random_shot(np.random.default_rng(14))), expectations, limits).doorstep
    stored = [again, *deliveries.values()]
    for upload in stored:
        exact = compare_with_many(upload, stored)
        deciding = compare_with_many(upload, stored, exact_scores=False)
        for full, quick in zip(exact, deciding, strict=True):
            assert full is not None
            assert quick is not None
            assert (quick.matched, quick.orientation) == (full.matched, full.orientation)
            if full.matched:
                assert MATCH_MIN_INLIERS <= quick.score <= full.score
            else:
                assert quick.score == full.score


def test_comparing_two_near_identical_photos_stays_within_a_few_megabytes(
    deliveries: dict[tuple[int, int], bytes],
) -> None:
    fingerprint = deliveries[(0, 0)]
    compare_doorsteps(fingerprint, fingerprint)  # warm
    tracemalloc.start()
    try:
        result = compare_doorsteps(fingerprint, fingerprint)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.matched
    assert result.score > 200  # every corner agrees: the largest search there is
    # Every plausible pair's residual against every match at once was ~125 MB of complex numbers.
    assert peak < 24_000_000, peak
