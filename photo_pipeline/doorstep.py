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
5,007 bytes). There is no coarse key: a global hash of a doorstep puts neighbours of one
building, which share a door model, in the same bucket exactly where it matters; candidates
are found by the building's geo cell, the address and a time window instead.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

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
    "doorstep_fingerprint",
]

F32 = npt.NDArray[np.float32]
U64 = npt.NDArray[np.uint64]

DOORSTEP_FORMAT: Final = 1  # first byte of the serialised fingerprint
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
PREFILTER_CORNERS: Final = 96
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
    work = np.asarray(gray.resize(size, Image.Resampling.BOX, reducing_gap=2.0), dtype=np.float32)
    points = _corners(work, occluders)
    bits = _grids(work, points)
    # To the displayed frame: coordinates and grids turned as the EXIF orientation says.
    height, width = work.shape
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
    for orientation in (1, 6, 8, 3, 2, 4, 5, 7):  # the ones phones write first
        pts, bits, _ = _orient(b_pts, b_bits, b_size[0], b_size[1], orientation)
        words = _pack(bits)
        # The strongest corners first (they are stored strongest first): most candidates of a busy
        # building are other doors, and this cheap look (a seventh of the work) rules them out.
        if _agreeing(a_pts[:k], a_words[:k], pts[:k], words[:k], need=PREFILTER_MIN) < PREFILTER_MIN:
            continue
        score = _agreeing(a_pts, a_words, pts, words)
        if score > best.score:
            best = DoorMatch(matched=score >= MATCH_MIN_INLIERS, score=score, orientation=orientation)
            if best.matched:
                break
    return best


# --- corners and descriptors -------------------------------------------------------------------


def _corners(work: F32, occluders: Sequence[Occluder]) -> F32:
    """Harris corners, strongest first, away from the border and the occluders; (n, 2) x, y.

    Plain numpy: central differences on the box-reduced image (the reduction is the smoothing)
    and box windows from an integral image. scipy's Gaussian and Sobel filters cost ~2 ms each
    at this size, six of them would be most of the budget.
    """
    smooth = _box(work, 3)  # sensor noise and JPEG blocks out of the gradients
    gx = np.zeros_like(work)
    gy = np.zeros_like(work)
    gx[:, 1:-1] = smooth[:, 2:] - smooth[:, :-2]
    gy[1:-1, :] = smooth[2:, :] - smooth[:-2, :]
    sxx = _box(gx * gx, 5)
    syy = _box(gy * gy, 5)
    sxy = _box(gx * gy, 5)
    response = sxx * syy - sxy * sxy - 0.05 * (sxx + syy) ** 2
    peaks = (response >= _max_around(response, _NMS)) & (response > 0)
    height, width = work.shape
    peaks[:_BORDER] = peaks[-_BORDER:] = False
    peaks[:, :_BORDER] = peaks[:, -_BORDER:] = False
    for box in occluders:
        y0, y1 = int(box.top * height), int(np.ceil(box.bottom * height))
        x0, x1 = int(box.left * width), int(np.ceil(box.right * width))
        peaks[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
    ys, xs = np.nonzero(peaks)
    strength = response[ys, xs]
    order = np.argsort(-strength, kind="stable")[:MAX_POINTS]
    # Far weaker corners are sensor noise on a plain wall.
    if len(order) and strength[order[0]] > 0:
        order = order[strength[order] > strength[order[0]] * _WEAK]
    return np.stack([xs[order], ys[order]], axis=1).astype(np.float32)


def _box(image: F32, size: int) -> F32:
    """Mean over a size x size window (odd size) around each pixel, edges repeated."""
    r = size // 2
    padded = np.pad(image, ((r + 1, r), (r + 1, r)), mode="edge")
    padded[0, :] = 0.0
    padded[:, 0] = 0.0
    integral = padded.cumsum(axis=0, dtype=np.float32).cumsum(axis=1, dtype=np.float32)
    h, w = image.shape
    total = (
        integral[size:, size:][:h, :w]
        - integral[:-size, size:][:h, :w]
        - integral[size:, :-size][:h, :w]
        + integral[:-size, :-size][:h, :w]
    )
    mean: F32 = total / np.float32(size * size)
    return mean


def _max_around(image: F32, radius: int) -> F32:
    """The maximum over a (2 radius + 1)^2 window, by shifted slices."""
    rows = image.copy()
    for shift in range(1, radius + 1):
        np.maximum(rows[:-shift], image[shift:], out=rows[:-shift])
        np.maximum(rows[shift:], image[:-shift], out=rows[shift:])
    out = rows.copy()
    for shift in range(1, radius + 1):
        np.maximum(out[:, :-shift], rows[:, shift:], out=out[:, :-shift])
        np.maximum(out[:, shift:], rows[:, :-shift], out=out[:, shift:])
    return out


_OFFSETS: Final = np.arange(8, dtype=np.float32) - 3.5


def _grids(work: F32, points: F32) -> npt.NDArray[np.bool_]:
    """(n, 2, 8, 8) bits: each cell of two grids brighter than its grid's mean."""
    out = np.zeros((len(points), 2, 8, 8), dtype=np.bool_)
    if not len(points):
        return out
    for index, cell in enumerate((2, 4)):
        # An odd window centred on the cell's sample point: 3 and 5 px for 2- and 4-px cells.
        means = _box(work, cell + 1)
        ys = np.clip(np.round(points[:, 1, None] + _OFFSETS[None, :] * cell), 0, work.shape[0] - 1)
        xs = np.clip(np.round(points[:, 0, None] + _OFFSETS[None, :] * cell), 0, work.shape[1] - 1)
        values = means[ys.astype(np.intp)[:, :, None], xs.astype(np.intp)[:, None, :]]
        out[:, index] = values > values.mean(axis=(1, 2), keepdims=True)
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


def _unpack(data: bytes) -> tuple[F32, npt.NDArray[np.bool_], tuple[int, int]]:
    if len(data) < _HEADER.size:
        raise ValueError("not a doorstep fingerprint")
    fmt, width, height, count = _HEADER.unpack_from(data)
    if fmt != DOORSTEP_FORMAT or len(data) != _HEADER.size + count * (_POINT.size + 16):
        raise ValueError("not a doorstep fingerprint of this format")
    start = _HEADER.size
    coords = np.frombuffer(data, dtype="<u2", count=count * 2, offset=start).reshape(count, 2)
    packed = np.frombuffer(data, dtype=np.uint8, count=count * 16, offset=start + count * _POINT.size)
    bits = np.unpackbits(packed.reshape(count, 16), axis=1).astype(np.bool_).reshape(count, 2, 8, 8)
    return coords.astype(np.float32) / 64.0, bits, (width, height)


# --- geometric check ---------------------------------------------------------------------------


def _agreeing(a_pts: F32, a_words: U64, b_pts: F32, b_words: U64, *, need: int = MATCH_MIN_INLIERS) -> int:
    """The most mutual-nearest matches one similarity transform maps onto each other."""
    d = _distances(a_words, b_words)
    best_b = d.argmin(axis=1)
    best_a = d.argmin(axis=0)
    rows = np.arange(len(a_words))
    mutual = (best_a[best_b] == rows) & (d[rows, best_b] <= _MATCH_BITS)
    if int(mutual.sum()) < need:
        return int(mutual.sum()) // 2  # too few candidates to agree on anything
    za = a_pts[mutual, 0] + 1j * a_pts[mutual, 1]
    zb = b_pts[best_b[mutual], 0] + 1j * b_pts[best_b[mutual], 1]
    i, j = np.triu_indices(len(za), k=1)
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
    residual = np.abs(s[:, None] * zb[None, :] + t[:, None] - za[None, :])
    return int((residual <= _INLIER_PX).sum(axis=1).max())
