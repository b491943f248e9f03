"""Finding the shipping label: locate the white sheet at low resolution, read its code at full.

The label is the sheet of white paper around the code, not the code itself: its share of the
frame is what tells the courier to step back or come closer. On a 1/6-1/8 scale luminance
image the sheet is a bright, roughly rectangular blob whose inside holds darker marks (text,
bars). The barcode is then read on a full-resolution crop around each candidate (Code128 needs
~1.8 px per module, which a reduced image does not have), and only if that fails is the whole
frame searched at reduced scale (enough for QR codes and large labels).
"""

from __future__ import annotations

from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage  # type: ignore[import-untyped]

from photo_pipeline.barcode import DecodedCode, read_codes

__all__ = ["LabelCandidate", "LabelReading", "find_label"]

U8 = npt.NDArray[np.uint8]

_MIN_CANDIDATE_SHARE: Final = 0.003  # smaller bright blobs are noise, not a readable sheet
_MIN_FILL: Final = 0.55  # blob area / bounding-box area: sheets are rectangles, tilted a little
_MIN_MARKS: Final = 0.04  # share of the sheet covered by darker marks (text, bars)
_MAX_CANDIDATES: Final = 3
_CROP_MARGIN: Final = 0.12
_MAX_CROP_PIXELS: Final = 1_500_000  # bigger crops are large labels: their modules survive a reduce


class LabelCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A bright, marked, rectangular blob; coordinates in the low-resolution image."""

    share: float
    top: int
    left: int
    bottom: int
    right: int


class LabelReading(msgspec.Struct, frozen=True, kw_only=True):
    """What was found: decoded codes, and the share of the sheet they sit on (if measured)."""

    codes: tuple[DecodedCode, ...]
    share: float | None
    seen_unreadable: LabelCandidate | None  # the best sheet seen when nothing decoded


def find_label(full: Image.Image, small_gray: U8, low_gray: U8, wanted: str) -> LabelReading:
    """Locate label sheets on `low_gray`, decode on crops of `full`, fall back to `small_gray`.

    `full` is the full-resolution image (any mode), `small_gray` and `low_gray` the same frame
    reduced. Stops at the first candidate whose code equals `wanted`.
    """
    low_h, low_w = low_gray.shape
    scale_x = full.width / low_w
    scale_y = full.height / low_h
    candidates = locate_sheets(low_gray)
    best: tuple[tuple[DecodedCode, ...], float] | None = None
    for cand in candidates:
        codes = _read_crop(full, cand, scale_x, scale_y)
        if codes and (best is None or any(c.text == wanted for c in codes)):
            best = (tuple(codes), cand.share)
            if any(c.text == wanted for c in codes):
                break
    if best is not None:
        return LabelReading(codes=best[0], share=best[1], seen_unreadable=None)

    codes = read_codes(small_gray)
    if codes:
        sx = low_w / small_gray.shape[1]
        sy = low_h / small_gray.shape[0]
        share = _share_around(low_gray, candidates, codes[0].center, sx, sy)
        if share is None:
            share = _code_share(codes[0], small_gray.shape)
        return LabelReading(codes=tuple(codes), share=share, seen_unreadable=None)
    # "Seen but unreadable" asks the courier to come closer, so it needs a whole sheet: a bright
    # blob cut by the frame edge has no measurable share and is as often a lamp or a wall strip.
    whole = [cand for cand in candidates if not _touches_edge(cand, low_w, low_h)]
    if not whole:
        return LabelReading(codes=(), share=None, seen_unreadable=None)
    return LabelReading(codes=(), share=whole[0].share, seen_unreadable=whole[0])


def _touches_edge(cand: LabelCandidate, width: int, height: int) -> bool:
    return cand.top == 0 or cand.left == 0 or cand.bottom >= height or cand.right >= width


def locate_sheets(low_gray: U8) -> list[LabelCandidate]:
    """Bright rectangular blobs with darker marks inside, best first."""
    hist = np.bincount(low_gray.ravel(), minlength=256)
    cdf = np.cumsum(hist)
    white = int(np.searchsorted(cdf, 0.999 * cdf[-1]))
    threshold = max(60, int(0.78 * white))
    bright = (low_gray >= threshold).view(np.uint8)
    # Close small gaps (bars, text strokes): a 3x3 dilation then erosion of the 0/1 image.
    closed = _min3x3(_max3x3(bright))
    # Fill holes: dark regions not connected to the border belong to the sheet around them.
    dark_parts, dark_count = ndimage.label(closed == 0)
    inside = np.ones(dark_count + 1, dtype=np.bool_)
    inside[dark_parts[0]] = False
    inside[dark_parts[-1]] = False
    inside[dark_parts[:, 0]] = False
    inside[dark_parts[:, -1]] = False
    filled = (closed == 1) | inside[dark_parts]
    labels, count = ndimage.label(filled)
    if count == 0:
        return []
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=count + 1)
    bright_areas = np.bincount(flat, weights=bright.ravel(), minlength=count + 1)
    total = float(low_gray.size)
    min_area = _MIN_CANDIDATE_SHARE * total
    found: list[tuple[float, LabelCandidate]] = []
    # The textured scene leaves hundreds of specks: select the big blobs without a Python loop.
    big = (np.flatnonzero(areas[1:] >= min_area) + 1).tolist()
    boxes = ndimage.find_objects(labels)
    for index in big:
        box = boxes[index - 1]
        if box is None:
            continue
        area = float(areas[index])
        rows, cols = box
        box_area = float((rows.stop - rows.start) * (cols.stop - cols.start))
        marks = 1.0 - float(bright_areas[index]) / area
        if area / box_area < _MIN_FILL or marks < _MIN_MARKS:
            continue
        cand = LabelCandidate(
            share=area / total, top=rows.start, left=cols.start, bottom=rows.stop, right=cols.stop
        )
        # Prefer well-filled sheets with clear marks; size breaks ties.
        score = (area / box_area) * min(marks, 0.5) * (area**0.25)
        found.append((score, cand))
    found.sort(key=lambda item: item[0], reverse=True)
    return [cand for _, cand in found[:_MAX_CANDIDATES]]


def _max3x3(binary: U8) -> U8:
    """3x3 maximum with edge replication (scipy's maximum_filter(size=3), ~7x faster here)."""
    padded = np.pad(binary, 1, mode="edge")
    rows = np.maximum(np.maximum(padded[:-2], padded[1:-1]), padded[2:])
    return np.maximum(np.maximum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def _min3x3(binary: U8) -> U8:
    """3x3 minimum with edge replication (scipy's minimum_filter(size=3))."""
    padded = np.pad(binary, 1, mode="edge")
    rows = np.minimum(np.minimum(padded[:-2], padded[1:-1]), padded[2:])
    return np.minimum(np.minimum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def _read_crop(full: Image.Image, cand: LabelCandidate, scale_x: float, scale_y: float) -> list[DecodedCode]:
    height = cand.bottom - cand.top
    width = cand.right - cand.left
    left = max(0, int((cand.left - width * _CROP_MARGIN) * scale_x) - 8)
    top = max(0, int((cand.top - height * _CROP_MARGIN) * scale_y) - 8)
    right = min(full.width, int((cand.right + width * _CROP_MARGIN) * scale_x) + 8)
    bottom = min(full.height, int((cand.bottom + height * _CROP_MARGIN) * scale_y) + 8)
    crop = full.crop((left, top, right, bottom)).convert("L")
    factor = 1
    while crop.width * crop.height / (factor * factor) > _MAX_CROP_PIXELS:
        factor += 1
    if factor > 1:
        crop = crop.reduce(factor)
    # A fast pass finds an upright or slightly tilted label; only then rotate and invert.
    return read_codes(crop, thorough=False) or read_codes(crop, thorough=True)


def _share_around(
    low_gray: U8,
    candidates: list[LabelCandidate],
    center: tuple[float, float],
    sx: float,
    sy: float,
) -> float | None:
    x, y = center[0] * sx, center[1] * sy
    for cand in candidates:
        if cand.left <= x < cand.right and cand.top <= y < cand.bottom:
            return cand.share
    return None


def _code_share(code: DecodedCode, shape: tuple[int, ...]) -> float:
    """The code's own quadrilateral (shoelace formula): a lower bound of the sheet's share."""
    pts = code.corners
    twice = 0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
        twice += x0 * y1 - x1 * y0
    return abs(twice) / 2.0 / float(shape[0] * shape[1])
