"""The doorstep fingerprint: which place a delivery photo shows, whatever lies on the doormat.

Method (chosen by measuring, see the README's "Door identity"): local features with a geometric
check, in numpy/scipy, on a 512-px copy of the displayed frame.

- Corners: the Harris response's local maxima, strongest first, at most `MAX_POINTS`. Corners
  under the label sheet and the parcel around it are dropped first (they move between
  deliveries, and two labels of one template would otherwise match each other).
- Descriptor: two 8x8 grids of cell means around the corner (2-px and 4-px cells), each cell a
  bit "brighter than the grid's mean": 128 bits, blind to light level and exposure gain, and
  exact under the eight quarter-turns and mirrors of the EXIF orientation (the grids are
  rotated, not re-sampled).
- Corners are many (up to 250, down to weak ones): the plaster's blotches, the scuffs and the
  plate's digits are weak corners, and they are what tells a door from its neighbour of the same
  model, whose frame, panels and handle corners agree with it as well as its own do.
- Comparison: mutual nearest descriptors, then the similarity transform (shift, zoom, roll)
  that most of them agree on, found by trying every pair of matches; the score is the number of
  matches that agree with it. The other photo is tried in all eight orientations, so changing
  only the Orientation tag does not hide a photo.

A doorstep matches another when at least MATCH_MIN_INLIERS corners agree: on the generator,
another day at the same door agreed on 32 or more, a neighbour's door of the same model on at
most 15 (bench/bench_door_identity.py). The serialised form is 7 + 20 bytes per corner (at most
5,007 bytes).

Format 2 (the first byte) is format 1's layout and method with exact arithmetic: the box sums,
gradients and windows are integers and a grid bit is `64 * cell > total`, where format 1 used
float32 integral images that round once a running total passes 2^24 (the lower right of the
frame) and float means. The two agree on all but a few of a photo's weakest corners and bits (a
photo's format-1 and format-2 fingerprints agree on ~245 of 250 corners), both are read, and
stored format-1 fingerprints decide against new ones as they did against each other
(`tests.doorstep_format1` keeps format 1's code for that test and the bench). Format 2 costs a
quarter of format 1 (~2.5 ms against ~10 ms for a 12 MP photo). There is no coarse key: a global hash of a doorstep puts neighbours of one
building, which share a door model, in the same bucket exactly where it matters; candidates
are found by the building's geo cell, the address and a time window instead.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from typing import Final, NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = [
    "DOORSTEP_FORMAT",
    "MATCH_MIN_INLIERS",
    "DoorMatch",
    "Occluder",
    "compare_doorsteps",
    "compare_with_many",
    "doorstep_fingerprint",
]

F32 = npt.NDArray[np.float32]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
C128 = npt.NDArray[np.complex128]

DOORSTEP_FORMAT: Final = 2  # first byte of the serialised fingerprint
# Format 1 (until 2026-11) has the same layout and meaning, computed with float32 integral images
# that round in the lower right of the frame; stored ones still compare (see the module docstring).
READABLE_FORMATS: Final = frozenset({1, 2})
WORK_SIDE: Final = 512  # longest side of the image the corners are found on
MAX_POINTS: Final = 250
_BORDER: Final = 17  # the 4-px grid reaches 16 px from its corner
_WEAK: Final = 1e-7  # of the strongest corner's response
_NMS: Final = 3  # corners closer than this (px) to a stronger one are dropped
_MATCH_BITS: Final = 36  # of 128: farther descriptors are not a match
_INLIER_PX: Final = 6.0
_SCALE_RANGE: Final = (0.75, 1.35)  # +-5% zoom each, a 10% crop, another phone's field of view
_MAX_ROLL: Final = 0.16  # radians (~9 degrees): +-3 degrees of roll each, and a rotated copy
# Matches that must agree on one transform for two photos to show the same doorstep.
MATCH_MIN_INLIERS: Final = 24
# The quick look before the full comparison: this many strongest corners of each, and this many of
# them agreeing, or the orientation is not tried in full (see bench.bench_door_identity for the rates).
PREFILTER_CORNERS: Final = 96  # at most 256: `_mutual` keeps an index in a byte
PREFILTER_MIN: Final = 6
_HEADER: Final = struct.Struct("<BHHH")  # format, width, height, points
_POINT: Final = struct.Struct("<HH")  # x, y in 1/64 px


class Occluder(msgspec.Struct, frozen=True, kw_only=True):
    """A box of the stored frame to ignore (the label sheet and its parcel), as fractions."""

    left: float
    top: float
    right: float
    bottom: float


class DoorMatch(msgspec.Struct, frozen=True, kw_only=True):
    """Whether two fingerprints show the same doorstep; `score` is the agreeing corner count."""

    matched: bool
    score: int
    orientation: int  # EXIF orientation (1-8) of the second photo against the first that matched


def doorstep_fingerprint(stored: Image.Image, orientation: int, occluders: Sequence[Occluder]) -> bytes:
    """The fingerprint of the displayed photo, from its stored luminance at any reduced scale."""
    gray = stored if stored.mode == "L" else stored.convert("L")
    factor = WORK_SIDE / max(gray.size)
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    work = np.asarray(gray.resize(size, Image.Resampling.BOX, reducing_gap=2.0), dtype=np.int32)
    height, width = work.shape
    if min(height, width) > 2 * _BORDER:
        sums3 = _box_sums(work, 3)
        points = _corners(sums3, occluders)
        bits = _grids(sums3, _box_sums(work, 5), points)
    else:  # too small to hold a corner with its grids
        points, bits = np.zeros((0, 2), dtype=np.float32), np.zeros((0, 2, 8, 8), dtype=np.bool_)
    # To the displayed frame: coordinates and grids turned as the EXIF orientation says.
    points, bits, (width, height) = _orient(points, bits, width, height, orientation)
    head = _HEADER.pack(DOORSTEP_FORMAT, width, height, len(points))
    coords = np.clip(np.round(points * 64.0), 0, 65535).astype("<u2").tobytes()
    return head + coords + np.packbits(bits.reshape(len(bits), 128), axis=1).tobytes()


def compare_doorsteps(first: bytes, second: bytes) -> DoorMatch:
    """Do two fingerprints show the same doorstep? Tries `second` in all eight orientations."""
    a_pts, a_bits, _ = _unpack(first)
    b_pts, b_bits, b_size = _unpack(second)
    best = DoorMatch(matched=False, score=0, orientation=1)
    if len(a_pts) < MATCH_MIN_INLIERS or len(b_pts) < MATCH_MIN_INLIERS:
        return best
    a_words = _pack(a_bits)
    k = PREFILTER_CORNERS
    for orientation in _TURN_ORDER:
        pts, bits, _ = _orient(b_pts, b_bits, b_size[0], b_size[1], orientation)
        words = _pack(bits)
        # The strongest corners first (they are stored strongest first): most candidates of a busy
        # building are other doors, and this cheap look (a seventh of the work) rules them out.
        if (
            _agreeing(a_pts[:k], a_words[:k], pts[:k], words[:k], need=PREFILTER_MIN, enough=PREFILTER_MIN)
            < PREFILTER_MIN
        ):
            continue
        score = _agreeing(a_pts, a_words, pts, words)
        if score > best.score:
            best = DoorMatch(matched=score >= MATCH_MIN_INLIERS, score=score, orientation=orientation)
            if best.matched:
                break
    return best


def compare_with_many(
    first: bytes, stored: Sequence[bytes], *, exact_scores: bool = True
) -> list[DoorMatch | None]:
    """`compare_doorsteps(first, s)` for each of `stored`, the same results; None for an unreadable one.

    `exact_scores=False` (the door verdict, which reads only `matched`): a match's score is then at
    least MATCH_MIN_INLIERS rather than its maximum, the search for it stopping there; `matched`,
    the orientation and every non-match's score are the same. Near-identical photos of one door
    (~250 matches) cost a fraction of the exact maximum that way.

    An upload is compared with up to 60 accepted photos of its building, most of them other
    doors, each in eight orientations: the work of `compare_doorsteps` is the eight quick looks,
    each a geometric check of ~30 mutual matches. Here the upload is unpacked and turned once (a
    descriptor's distance to a turned one is its turned-back copy's distance to the original: the
    upload's bits are permuted, not every candidate's), each candidate's eight quick looks share
    one distance array, and the quick looks of all candidates get their geometric check in one
    float64 batch first (`_may_agree`), with margins either way: what it rules out the exact
    check would rule out, what it surely passes the exact check would pass, and the few it cannot
    tell are looked at exactly as in `compare_doorsteps`. The orientations are tried in the same
    order and the full comparisons are the same code, so the results are its own (tested).
    """
    a_pts, a_bits, _ = _unpack(first)
    k = PREFILTER_CORNERS
    # (8, n, 2): the upload's words as seen against each orientation of the other photo.
    a_turned = _pack(
        a_bits.reshape(len(a_bits), 128)[:, _INVERSE_TURNS].transpose(1, 0, 2).reshape(-1, 2, 8, 8)
    ).reshape(len(_TURN_ORDER), len(a_bits), 2)
    results: list[DoorMatch | None] = [None] * len(stored)
    looks: list[_Candidate] = []
    # Reused for every candidate: a fresh array of this size is fresh pages, which cost as much as
    # the distances themselves.
    xor = np.empty((len(_TURN_ORDER), min(k, len(a_pts)), k), dtype=np.uint64)
    ones = np.empty(xor.shape, dtype=np.uint8)
    quick = np.empty(xor.shape, dtype=np.uint8)
    for index, data in enumerate(stored):
        try:
            b_pts, b_words, b_size = _unpack_words(data)
        except ValueError:
            continue
        results[index] = DoorMatch(matched=False, score=0, orientation=1)
        if len(a_pts) < MATCH_MIN_INLIERS or len(b_pts) < MATCH_MIN_INLIERS:
            continue
        kb = min(k, len(b_pts))
        _distances_turned(a_turned[:, :k], b_words[:k], xor[:, :, :kb], ones[:, :, :kb], quick[:, :, :kb])
        mutual, best_b = _mutual(quick[:, :, :kb])
        points = _turned_points(b_pts, b_size)
        nearest = np.take_along_axis(points, best_b[:, :, None], axis=1).astype(np.float64)  # (8, k, 2)
        looks.append(_Candidate(index, points, b_words, mutual, nearest[..., 0] + 1j * nearest[..., 1]))
    # The batched check of every quick look with enough mutual matches (fewer: `_agreeing_at` stops).
    verdicts = np.zeros((len(looks), len(_TURN_ORDER)), dtype=np.intp)
    if looks:
        mutual = np.concatenate([c.mutual for c in looks])  # (candidates * 8, k)
        turned_b = np.concatenate([c.matched_points for c in looks])
        a_complex = a_pts[:k, 0] + 1j * a_pts[:k, 1].astype(np.float64)
        worth = mutual.sum(axis=1) >= PREFILTER_MIN
        flat = verdicts.reshape(-1)
        flat[worth] = _may_agree(
            np.broadcast_to(a_complex, mutual.shape)[worth], turned_b[worth], mutual[worth], PREFILTER_MIN
        )
    for n, c in enumerate(looks):
        best = DoorMatch(matched=False, score=0, orientation=1)
        for turn, orientation in enumerate(_TURN_ORDER):
            verdict = verdicts[n, turn]
            if not verdict:
                continue
            pts = c.points[turn]
            distances = _distances(a_turned[turn], c.words)
            if (
                verdict == 1
                and _agreeing_at(
                    a_pts[:k], pts[:k], distances[:k, :k], need=PREFILTER_MIN, enough=PREFILTER_MIN
                )
                < PREFILTER_MIN
            ):
                continue
            score = _agreeing_at(a_pts, pts, distances, enough=None if exact_scores else MATCH_MIN_INLIERS)
            if score > best.score:
                best = DoorMatch(matched=score >= MATCH_MIN_INLIERS, score=score, orientation=orientation)
                if best.matched:
                    break
        results[c.position] = best
    return results


class _Candidate(NamedTuple):
    """A stored fingerprint between the batched first look and the exact ones."""

    position: int  # in `stored`
    points: F32  # (8, n, 2) in each of _TURN_ORDER
    words: U64
    mutual: npt.NDArray[np.bool_]  # (8, k) of the upload's strongest corners
    matched_points: C128  # (8, k): the nearest descriptor's point, as x + iy


# --- corners and descriptors -------------------------------------------------------------------


def _corners(sums3: I32, occluders: Sequence[Occluder]) -> F32:
    """Harris corners, strongest first, away from the border and the occluders; (n, 2) x, y.

    Central differences of the 3x3 box sums (the box is the smoothing: sensor noise and JPEG
    blocks out of the gradients) and 5x5 box windows of their products, in exact integers (a
    gradient is at most 6 * 255 * 3, 25 products stay below 2^31); only the response is a float.
    Everything is computed for the inside only: a corner is at least _BORDER px from the edge
    (its grids reach that far), so its 7x7 maximum, 5x5 windows and gradients never reach the
    edge, and separable sums of shifted slices need no padding. (Format 1 did the same maths
    with padded float32 integral images: ~6x the time, and rounding in the lower right.)
    `sums3` is `_box_sums(work, 3)`: its [y, x] is the window centred on (y + 1, x + 1).
    """
    height, width = sums3.shape[0] + 2, sums3.shape[1] + 2
    inside = height - 2 * _BORDER  # rows [_BORDER, height - _BORDER) can hold a corner
    found = [_band_peaks(sums3, top, min(inside, top + _BAND)) for top in range(0, inside, _BAND)]
    ys = np.concatenate([band[0] for band in found])  # bands top to bottom: raster order, as one pass
    xs = np.concatenate([band[1] for band in found])
    strength = np.concatenate([band[2] for band in found])
    keep = np.ones(len(ys), dtype=np.bool_)
    for box in occluders:
        y0, y1 = int(box.top * height) - _BORDER, int(np.ceil(box.bottom * height)) - _BORDER
        x0, x1 = int(box.left * width) - _BORDER, int(np.ceil(box.right * width)) - _BORDER
        keep &= ~((ys >= max(0, y0)) & (ys < max(0, y1)) & (xs >= max(0, x0)) & (xs < max(0, x1)))
    ys, xs, strength = ys[keep], xs[keep], strength[keep]
    order = np.argsort(-strength, kind="stable")[:MAX_POINTS]
    # Far weaker corners are sensor noise on a plain wall.
    if len(order) and strength[order[0]] > 0:
        order = order[strength[order] > strength[order[0]] * _WEAK]
    return (np.stack([xs[order], ys[order]], axis=1) + _BORDER).astype(np.float32)


# Rows of corners found at a time: a band's arrays (~0.2 MB each) come from memory malloc already
# has, freed by the band before. One pass over the frame made ~15 MB of fresh arrays, whose page
# faults cost more CPU (kernel time) than the arithmetic: ~1,500 faults, ~3 ms, inside `verify`.
# Narrower bands cost more in numpy calls (16 rows: +0.6 ms), the whole frame in two faults again.
_BAND: Final = 96


def _band_peaks(sums3: I32, top: int, bottom: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], F32]:
    """Corners (y, x from _BORDER, and response) whose rows are in [top, bottom) from _BORDER, raster order.

    Each value is computed as a whole-frame pass would (integers, then the same float32 steps),
    only fewer rows at a time.
    """
    width = sums3.shape[1] + 2
    # Gradient rows: the 5x5 windows of the response rows [top - _NMS, bottom + _NMS) from
    # _BORDER read them; gradient row g is frame row lo + g.
    lo = _BORDER - _NMS - 2
    g0, g1 = top, bottom + 2 * _NMS + 4
    cols = slice(lo - 1, width - lo - 1)
    gx = (
        sums3[lo - 1 + g0 : lo - 1 + g1, lo : width - lo]
        - sums3[lo - 1 + g0 : lo - 1 + g1, lo - 2 : width - lo - 2]
    )
    gy = sums3[lo + g0 : lo + g1, cols] - sums3[lo - 2 + g0 : lo - 2 + g1, cols]
    products = np.empty((3, *gx.shape), dtype=np.int32)
    np.multiply(gx, gx, out=products[0])
    np.multiply(gy, gy, out=products[1])
    np.multiply(gx, gy, out=products[2])
    sxx, syy, sxy = _box_sums(products, 5).astype(np.float32)
    # sxx * syy - sxy * sxy - 0.05 * (sxx + syy) ** 2, the same roundings in the same order
    response = sxx * syy
    response -= np.multiply(sxy, sxy, out=sxy)
    trace = np.add(sxx, syy, out=sxx)
    trace *= trace
    trace *= np.float32(0.05)
    response -= trace
    inner = response[_NMS:-_NMS, _NMS:-_NMS]
    ys, xs = np.nonzero((inner >= _max_around(response, _NMS)) & (inner > 0))
    return ys + top, xs, inner[ys, xs]


def _box_sums(image: I32, size: int) -> I32:
    """Sums over the size x size windows that fit in the last two axes (no padding): size - 1 fewer each way."""
    half = image[..., : 1 - size, :] + image[..., 1 : 2 - size or None, :]  # rows, then columns
    for shift in range(2, size):
        half += image[..., shift : shift + 1 - size or None, :]
    out = half[..., : 1 - size] + half[..., 1 : 2 - size or None]
    for shift in range(2, size):
        out += half[..., shift : shift + 1 - size or None]
    return out


def _max_around(image: F32, radius: int) -> F32:
    """The maximum over each (2 radius + 1)^2 window that fits in `image` (2 radius fewer each way)."""
    rows = image[: -2 * radius].copy()
    for shift in range(1, 2 * radius + 1):
        np.maximum(rows, image[shift : shift - 2 * radius or None], out=rows)
    out = rows[:, : -2 * radius].copy()
    for shift in range(1, 2 * radius + 1):
        np.maximum(out, rows[:, shift : shift - 2 * radius or None], out=out)
    return out


_OFFSETS: Final = np.arange(8, dtype=np.intp) * 2 - 7  # cell centres in half cells: -7, -5, ..., 7


def _grids(sums3: I32, sums5: I32, points: F32) -> npt.NDArray[np.bool_]:
    """(n, 2) 8x8 grids of bits: each cell brighter than its grid's mean.

    A cell is the box sum of an odd window centred on its sample point (3 and 5 px for the 2- and
    4-px cells; a point's grids stay inside the frame, see _BORDER). Compared as 64 * sum > the
    grid's total, in integers: no rounding decides a bit.
    """
    out = np.zeros((len(points), 2, 8, 8), dtype=np.bool_)
    if not len(points):
        return out
    px = points[:, 0].astype(np.intp)
    py = points[:, 1].astype(np.intp)
    for index, (cell, sums) in enumerate(((2, sums3), (4, sums5))):
        r = (cell + 1) // 2  # `sums` [y, x] is the window centred on (y + r, x + r)
        ys = np.clip(py[:, None] + _OFFSETS[None, :] * cell // 2 - r, 0, sums.shape[0] - 1)
        xs = np.clip(px[:, None] + _OFFSETS[None, :] * cell // 2 - r, 0, sums.shape[1] - 1)
        values = sums[ys[:, :, None], xs[:, None, :]].astype(np.int64)
        out[:, index] = values * 64 > values.sum(axis=(1, 2), keepdims=True)
    return out


def _pack(bits: npt.NDArray[np.bool_]) -> U64:
    """(n, 2) 64-bit words of the (n, 2, 8, 8) grids."""
    packed = np.packbits(bits.reshape(len(bits), 2, 64), axis=2)
    return packed.view(">u8").reshape(len(bits), 2).astype(np.uint64)


def _distances(a: U64, b: U64) -> npt.NDArray[np.uint8]:
    # Two 64-bit words a descriptor: add the two popcounts (at most 128, fits a byte) instead of
    # reducing a third axis, which cost more than the popcounts themselves.
    first: npt.NDArray[np.uint8] = np.bitwise_count(a[:, None, 0] ^ b[None, :, 0])
    first += np.bitwise_count(a[:, None, 1] ^ b[None, :, 1])
    return first


def _distances_turned(
    turned: U64, b: U64, xor: U64, ones: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]
) -> None:
    """`out` (t, n, m): distances of (t, n, 2) words to (m, 2) words, in the buffers given."""
    np.bitwise_xor(turned[:, :, None, 0], b[None, None, :, 0], out=xor)
    np.bitwise_count(xor, out=out)
    np.bitwise_xor(turned[:, :, None, 1], b[None, None, :, 1], out=xor)
    out += np.bitwise_count(xor, out=ones)


def _mutual(d: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """For each (t, n, m) distance array, `_agreeing_at`'s mutual matches and each row's nearest column.

    argmin over rows of 96 is slow in numpy (~50 ns a row); the minimum of distance * 256 + index
    is the same first nearest index, from a vectorised min.
    """
    _, n, m = d.shape
    keys = d.astype(np.uint16)
    keys <<= 8
    best_b = (np.bitwise_or(keys, np.arange(m, dtype=np.uint16)[None, None, :]).min(axis=2) & 0xFF).astype(
        np.intp
    )
    best_a = (np.bitwise_or(keys, np.arange(n, dtype=np.uint16)[None, :, None]).min(axis=1) & 0xFF).astype(
        np.intp
    )
    back = np.take_along_axis(best_a, best_b, axis=1)
    close = np.take_along_axis(d, best_b[:, :, None], axis=2)[:, :, 0] <= _MATCH_BITS
    return (back == np.arange(n)[None, :]) & close, best_b


def _turned_points(points: F32, size: tuple[int, int]) -> F32:
    """(8, n, 2): `_orient`'s points in each of _TURN_ORDER, to the bit.

    Each coordinate is +-x or +-y plus 0, w or h: the products by 0 and +-1 and the added 0 are
    exact, so the one rounding is `_orient`'s own (w - x is w + -x).
    """
    offsets = _TURN_OFFSETS[:, :, 0] * np.float32(size[0] - 1) + _TURN_OFFSETS[:, :, 1] * np.float32(
        size[1] - 1
    )
    turned: F32 = np.matmul(points[None, :, :], _TURN_AXES) + offsets[:, None, :]
    return turned


# The looser check's margins: far above the float32 rounding of the exact check (~1e-4 px on
# these coordinates), so whatever the exact check accepts, the looser one accepts too.
_SLACK_PX: Final = 0.01
_SLACK: Final = 1e-3


def _may_agree(za: C128, zb: C128, matched: npt.NDArray[np.bool_], need: int) -> npt.NDArray[np.intp]:
    """For each row's matched points (za[g][matched[g]] with zb[g][...]), does `_agreeing_at` find `need` agreeing?

    0: surely not, 2: surely, 1: only the exact check can tell. The same hypotheses (every pair's
    similarity) and counts, in float64 for all rows at once (padded with NaN, which agrees with
    nothing), once with bounds looser by margins far above the exact check's float32 rounding (a
    count short of `need` there is short in the exact check) and once narrower (a count of
    `need` there is one in the exact check).
    """
    out = np.zeros(len(za), dtype=np.intp)
    sizes = matched.sum(axis=1)
    # Each row's matched points first (their order does not change a count), the rows by size so
    # that a chunk is padded little; ~6,000 hypotheses a chunk, arrays of ~100 kB (below the size
    # malloc serves from fresh pages).
    first = np.argsort(~matched, axis=1, kind="stable")
    za = np.where(matched, za, np.nan)
    zb = np.where(matched, zb, np.nan)
    order = np.argsort(sizes, kind="stable").tolist()
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and (end + 1 - start) * len(_pairs(int(sizes[order[end]]))[0]) <= 6_000:
            end += 1
        chunk = np.array(order[start:end])
        start = end
        size = int(sizes[chunk[-1]])
        i, j = _pairs(size)
        count = len(chunk)
        a = np.take_along_axis(za[chunk], first[chunk, :size], axis=1)
        b = np.take_along_axis(zb[chunk], first[chunk, :size], axis=1)
        base = b[:, j] - b[:, i]
        span = a[:, j] - a[:, i]
        # The similarity span / base without dividing: its zoom from squared lengths, its roll
        # from span * conj(base), whose angle is the same (no arctan2, no square root).
        base2 = base.real * base.real + base.imag * base.imag
        span2 = span.real * span.real + span.imag * span.imag
        turn = span * base.conj()
        plausible = (
            (base2 >= (20.0 - _SLACK_PX) ** 2)
            & (span2 >= (_SCALE_RANGE[0] - _SLACK) ** 2 * base2)
            & (span2 <= (_SCALE_RANGE[1] + _SLACK) ** 2 * base2)
            & (turn.real > 0.0)
            & (np.abs(turn.imag) <= np.tan(_MAX_ROLL + _SLACK) * turn.real)
        )
        rows, hyp = np.nonzero(plausible)
        loose = np.zeros(count, dtype=np.intp)
        tight = np.zeros(count, dtype=np.intp)
        if len(rows):
            s = span[rows, hyp] / base[rows, hyp]
            t = a[rows, i[hyp]] - s * b[rows, i[hyp]]
            residual = np.abs(s[:, None] * b[rows] + t[:, None] - a[rows])
            np.maximum.at(loose, rows, (residual <= _INLIER_PX + _SLACK_PX).sum(axis=1))
            # The same with the bounds narrowed by the margins: what passes here passes exactly.
            zoom, base_len = np.abs(s), np.abs(base[rows, hyp])
            sure = (
                (zoom >= _SCALE_RANGE[0] + _SLACK)
                & (zoom <= _SCALE_RANGE[1] - _SLACK)
                & (np.abs(np.angle(s)) <= _MAX_ROLL - _SLACK)
                & (base_len >= 20.0 + _SLACK_PX)
            )
            np.maximum.at(tight, rows, np.where(sure, (residual <= _INLIER_PX - _SLACK_PX).sum(axis=1), 0))
        out[chunk] = np.where(tight >= need, 2, loose >= need)
    return out


def _orient(
    points: F32, bits: npt.NDArray[np.bool_], width: int, height: int, orientation: int
) -> tuple[F32, npt.NDArray[np.bool_], tuple[int, int]]:
    """Points and grids of a stored frame as displayed under EXIF `orientation`."""
    x, y = points[:, 0], points[:, 1]
    w, h = float(width - 1), float(height - 1)
    match orientation:
        case 2:
            xy, g, size = (w - x, y), bits[..., ::-1], (width, height)
        case 3:
            xy, g, size = (w - x, h - y), bits[..., ::-1, ::-1], (width, height)
        case 4:
            xy, g, size = (x, h - y), bits[..., ::-1, :], (width, height)
        case 5:
            xy, g, size = (y, x), bits.swapaxes(2, 3), (height, width)
        case 6:
            xy, g, size = (h - y, x), bits.swapaxes(2, 3)[..., ::-1], (height, width)
        case 7:
            xy, g, size = (h - y, w - x), bits.swapaxes(2, 3)[..., ::-1, ::-1], (height, width)
        case 8:
            xy, g, size = (y, w - x), bits.swapaxes(2, 3)[..., ::-1, :], (height, width)
        case _:
            return points, bits, (width, height)
    return np.stack(xy, axis=1).astype(np.float32), np.ascontiguousarray(g), size


def _unpack_words(data: bytes) -> tuple[F32, U64, tuple[int, int]]:
    """`_unpack` with the grids as `_pack` words: the stored bytes are those words, big-endian."""
    _, width, height, count = _check(data)
    start = _HEADER.size
    coords = np.frombuffer(data, dtype="<u2", count=count * 2, offset=start).reshape(count, 2)
    words = np.frombuffer(data, dtype=">u8", count=count * 2, offset=start + count * _POINT.size)
    return coords.astype(np.float32) / 64.0, words.reshape(count, 2).astype(np.uint64), (width, height)


def _check(data: bytes) -> tuple[int, int, int, int]:
    if len(data) < _HEADER.size:
        raise ValueError("not a doorstep fingerprint")
    fmt, width, height, count = _HEADER.unpack_from(data)
    if fmt not in READABLE_FORMATS or len(data) != _HEADER.size + count * (_POINT.size + 16):
        raise ValueError("not a doorstep fingerprint of this format")
    return fmt, width, height, count


def _unpack(data: bytes) -> tuple[F32, npt.NDArray[np.bool_], tuple[int, int]]:
    _, width, height, count = _check(data)
    start = _HEADER.size
    coords = np.frombuffer(data, dtype="<u2", count=count * 2, offset=start).reshape(count, 2)
    packed = np.frombuffer(data, dtype=np.uint8, count=count * 16, offset=start + count * _POINT.size)
    bits = np.unpackbits(packed.reshape(count, 16), axis=1).astype(np.bool_).reshape(count, 2, 8, 8)
    return coords.astype(np.float32) / 64.0, bits, (width, height)


# --- geometric check ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _pairs(count: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """`np.triu_indices(count, k=1)`, which costs more than the geometry of a quick look."""
    i, j = np.triu_indices(count, k=1)
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j


def _agreeing(
    a_pts: F32,
    a_words: U64,
    b_pts: F32,
    b_words: U64,
    *,
    need: int = MATCH_MIN_INLIERS,
    enough: int | None = None,
) -> int:
    """The most mutual-nearest matches one similarity transform maps onto each other (with
    `enough`: a count at least `enough` once one is found, see `_agreeing_at`)."""
    return _agreeing_at(a_pts, b_pts, _distances(a_words, b_words), need=need, enough=enough)


def _agreeing_at(
    a_pts: F32,
    b_pts: F32,
    d: npt.NDArray[np.uint8],
    *,
    need: int = MATCH_MIN_INLIERS,
    enough: int | None = None,
) -> int:
    """`_agreeing` from the descriptor distances `d` (a rows, b columns).

    The transforms of all plausible pairs are tried `_PAIR_CHUNK` at a time: two near-identical
    photos have ~250 mutual matches, ~31,000 pairs, and their residuals at once were ~125 MB and
    ~14 ms. With `enough`, the search stops at the first chunk whose best transform reaches it and
    returns that count: for a caller who only asks "at least `enough`?", the same answer.
    """
    best_b = d.argmin(axis=1)
    best_a = d.argmin(axis=0)
    rows = np.arange(len(a_pts))
    mutual = (best_a[best_b] == rows) & (d[rows, best_b] <= _MATCH_BITS)
    if int(mutual.sum()) < need:
        return int(mutual.sum()) // 2  # too few candidates to agree on anything
    za = a_pts[mutual, 0] + 1j * a_pts[mutual, 1]
    zb = b_pts[best_b[mutual], 0] + 1j * b_pts[best_b[mutual], 1]
    i, j = _pairs(len(za))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_rot = (za[j] - za[i]) / (zb[j] - zb[i])  # za = s * zb + t
    size = np.abs(scale_rot)
    plausible = (
        np.isfinite(scale_rot)
        & (size >= _SCALE_RANGE[0])
        & (size <= _SCALE_RANGE[1])
        & (np.abs(np.angle(scale_rot)) <= _MAX_ROLL)
        & (np.abs(zb[j] - zb[i]) >= 20.0)  # a short baseline fixes the rotation badly
    )
    if not plausible.any():
        return 0
    s = scale_rot[plausible]
    t = za[i[plausible]] - s * zb[i[plausible]]
    best = 0
    for start in range(0, len(s), _PAIR_CHUNK):
        chunk = slice(start, start + _PAIR_CHUNK)
        residual = np.abs(s[chunk, None] * zb[None, :] + t[chunk, None] - za[None, :])
        best = max(best, int((residual <= _INLIER_PX).sum(axis=1).max()))
        if enough is not None and best >= enough:
            break
    return best


# Plausible pairs whose residuals against every match are computed at once (~2 MB for 250 matches).
_PAIR_CHUNK: Final = 512

# The orientations `compare_doorsteps` tries, the ones phones write first.
_TURN_ORDER: Final = (1, 6, 8, 3, 2, 4, 5, 7)


def _inverse_turns() -> npt.NDArray[np.intp]:
    """(8, 128): for each of _TURN_ORDER, the bit permutation that undoes `_orient` on a descriptor."""
    index = np.arange(128).reshape(1, 2, 8, 8)
    rows = []
    for orientation in _TURN_ORDER:
        turned = _orient(np.zeros((1, 2), dtype=np.float32), index, 1, 1, orientation)[1]  # type: ignore[arg-type]
        rows.append(np.argsort(turned.reshape(128)))
    return np.stack(rows)


_INVERSE_TURNS: Final = _inverse_turns()


def _turn_tables() -> tuple[F32, F32]:
    """(8, 2, 2) axes and (8, 2, 2) offsets (in w, h) of `_orient` for each of _TURN_ORDER."""
    axes = np.zeros((len(_TURN_ORDER), 2, 2), dtype=np.float32)
    offsets = np.zeros((len(_TURN_ORDER), 2, 2), dtype=np.float32)
    # orientation: (x' from (x, y), its offset in (w, h)), (y' ..., ...)
    table = {
        1: (((1, 0), (0, 0)), ((0, 1), (0, 0))),
        2: (((-1, 0), (1, 0)), ((0, 1), (0, 0))),
        3: (((-1, 0), (1, 0)), ((0, -1), (0, 1))),
        4: (((1, 0), (0, 0)), ((0, -1), (0, 1))),
        5: (((0, 1), (0, 0)), ((1, 0), (0, 0))),
        6: (((0, -1), (0, 1)), ((1, 0), (0, 0))),
        7: (((0, -1), (0, 1)), ((-1, 0), (1, 0))),
        8: (((0, 1), (0, 0)), ((-1, 0), (1, 0))),
    }
    for turn, orientation in enumerate(_TURN_ORDER):
        for out, (axis, offset) in enumerate(table[orientation]):
            axes[turn, :, out] = axis  # points @ axes: column `out` is x' or y'
            offsets[turn, out] = offset
    return axes, offsets


_TURN_AXES, _TURN_OFFSETS = _turn_tables()
