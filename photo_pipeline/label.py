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

__all__ = ["LabelCandidate", "LabelReading", "SheetShare", "find_label", "measure_sheet"]

U8 = npt.NDArray[np.uint8]

_MIN_CANDIDATE_SHARE: Final = 0.003  # smaller bright blobs are noise, not a readable sheet
_MIN_FILL: Final = 0.55  # blob area / bounding-box area: sheets are rectangles, tilted a little
_MIN_MARKS: Final = 0.04  # share of the sheet covered by darker marks (text, bars)
_MAX_CANDIDATES: Final = 3
_CROP_MARGIN: Final = 0.12
_MAX_CROP_PIXELS: Final = 1_500_000  # bigger crops are large labels: their modules survive a reduce
# Grey levels (x the frame's white) a sheet is looked for at when the bright blobs hold no code:
# overlapping +-7% bands from white paper down to the grey auto-exposure makes of it.
_PAPER_LEVELS: Final = (0.93, 0.82, 0.72, 0.63)
_BAND: Final = 0.07
_MAX_BANDED_SHARE: Final = 0.25  # larger labels are read on the reduced whole frame
_MAX_FULL_READ_SHARE: Final = 0.8  # a merged blob read at full resolution as a last resort


class LabelCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A bright, marked, rectangular blob; coordinates in the low-resolution image."""

    share: float
    top: int
    left: int
    bottom: int
    right: int


class LabelReading(msgspec.Struct, frozen=True, kw_only=True):
    """What was found: decoded codes (full-resolution corners) and the share of their sheet.

    `measured` is False when the sheet's edges could not be told from its surroundings: `share`
    is then an estimate from the code's size, and `share_low`/`share_high` what the code's own
    geometry proves (the checks refuse only outside those).
    """

    codes: tuple[DecodedCode, ...]
    share: float | None
    seen_unreadable: LabelCandidate | None  # the best sheet seen when nothing decoded
    measured: bool = True
    share_low: float | None = None
    share_high: float | None = None


class SheetShare(msgspec.Struct, frozen=True, kw_only=True):
    """The sheet's share of the frame, whether its edges were measured, and provable bounds."""

    share: float
    measured: bool
    low: float
    high: float


def find_label(full: Image.Image, small_gray: U8, low_gray: U8, wanted: str) -> LabelReading:
    """Locate label sheets on `low_gray`, decode on crops of `full`, fall back to `small_gray`.

    `full` is the full-resolution image (any mode), `small_gray` and `low_gray` the same frame
    reduced. Stops at the first candidate whose code equals `wanted`. The sheet's share is then
    measured on `small_gray` around the decoded code (`measure_sheet`), not taken from the
    candidate blob: a blob is found by brightness and merges with a light wall or door.
    """
    low_h, low_w = low_gray.shape
    scale_x = full.width / low_w
    scale_y = full.height / low_h
    candidates = locate_sheets(low_gray)
    best = _read_candidates(full, candidates, scale_x, scale_y, wanted)
    if best is None or all(c.text != wanted for c in best):
        # Nothing bright enough, or the sheet merged with a light wall or door: look for sheets
        # of one grey level at a time, so that paper darker or lighter than its surroundings
        # stands apart (auto-exposure makes white paper any light grey).
        tried = {(c.top, c.left, c.bottom, c.right) for c in candidates}
        for level in _PAPER_LEVELS:
            banded = [
                c
                for c in locate_sheets(low_gray, level=level)
                if (c.top, c.left, c.bottom, c.right) not in tried and c.share <= _MAX_BANDED_SHARE
            ]
            tried.update((c.top, c.left, c.bottom, c.right) for c in banded)
            found = _read_candidates(full, banded, scale_x, scale_y, wanted)
            if found is not None and (best is None or any(c.text == wanted for c in found)):
                best = found
                if any(c.text == wanted for c in found):
                    break
    if best is None:
        # A sheet as grey as the door or wall it is on merges with it into one large blob, whose
        # crop is reduced before reading and loses a Code128's modules: read the largest such
        # crop once more at full resolution (only photos that found no code pay for it).
        merged = [
            c for c in candidates if c.share > _MAX_BANDED_SHARE / 2 and c.share <= _MAX_FULL_READ_SHARE
        ]
        if not merged:
            # A sheet on a dark door whose edge touches the door frame merges, across the frame's
            # thin line, with a light wall into a blob too ragged to pass as a sheet (and paper
            # greyer than the wall never stands apart in a band): read the blob that holds the
            # most marks the same way.
            merged = locate_sheets(low_gray, ragged=True)[:1]
        for cand in sorted(merged, key=lambda c: c.share)[:1]:
            codes = _read_crop(full, cand, scale_x, scale_y, max_pixels=None)
            if codes:
                best = tuple(codes)
    if best is None:
        small_codes = read_codes(small_gray)
        if small_codes:
            # In `small_gray` coordinates already; map to full resolution like the crop reads.
            fx = full.width / small_gray.shape[1]
            fy = full.height / small_gray.shape[0]
            best = tuple(_scaled(code, 0, 0, fx, fy) for code in small_codes)
    if best is not None:
        code = next((c for c in best if c.text == wanted), best[0])
        sheet = measure_sheet(small_gray, code, full.width, full.height)
        return LabelReading(
            codes=best,
            share=sheet.share,
            seen_unreadable=None,
            measured=sheet.measured,
            share_low=sheet.low,
            share_high=sheet.high,
        )
    # "Seen but unreadable" asks the courier to come closer, so it needs a whole sheet: a bright
    # blob cut by the frame edge has no measurable share and is as often a lamp or a wall strip.
    whole = [cand for cand in candidates if not _touches_edge(cand, low_w, low_h)]
    if not whole:
        return LabelReading(codes=(), share=None, seen_unreadable=None)
    share = whole[0].share
    return LabelReading(codes=(), share=share, seen_unreadable=whole[0], share_low=share, share_high=share)


def _read_candidates(
    full: Image.Image, candidates: list[LabelCandidate], scale_x: float, scale_y: float, wanted: str
) -> tuple[DecodedCode, ...] | None:
    """Codes read on the first candidate holding `wanted`, else on the first holding any."""
    best: tuple[DecodedCode, ...] | None = None
    for cand in candidates:
        codes = _read_crop(full, cand, scale_x, scale_y, wanted=wanted)
        if codes and (best is None or any(c.text == wanted for c in codes)):
            best = tuple(codes)
            if any(c.text == wanted for c in codes):
                break
    return best


def _touches_edge(cand: LabelCandidate, width: int, height: int) -> bool:
    return cand.top == 0 or cand.left == 0 or cand.bottom >= height or cand.right >= width


def locate_sheets(low_gray: U8, *, level: float | None = None, ragged: bool = False) -> list[LabelCandidate]:
    """Bright rectangular blobs with darker marks inside, best first.

    Without `level`, "bright" is above a share of the frame's white; with it, paper within
    +-`_BAND` of `level` x the frame's white, so a grey sheet separates from a whiter wall.
    `ragged` keeps blobs of any shape up to `_MAX_FULL_READ_SHARE`, the most marked first.
    """
    hist = np.bincount(low_gray.ravel(), minlength=256)
    cdf = np.cumsum(hist)
    white = int(np.searchsorted(cdf, 0.999 * cdf[-1]))
    if level is None:
        threshold = max(60, int(0.78 * white))
        bright = (low_gray >= threshold).view(np.uint8)
    else:
        lo, hi = max(60, int(level * (1.0 - _BAND) * white)), int(level * (1.0 + _BAND) * white) + 1
        bright = ((low_gray >= lo) & (low_gray <= hi)).view(np.uint8)
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
    # Counting the bright pixels' labels is ~10x cheaper than a weighted count over all pixels.
    bright_areas = np.bincount(flat[bright.ravel().view(np.bool_)], minlength=count + 1)
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
        cand = LabelCandidate(
            share=area / total, top=rows.start, left=cols.start, bottom=rows.stop, right=cols.stop
        )
        if ragged:
            if cand.share <= _MAX_FULL_READ_SHARE:
                found.append((marks * area, cand))
            continue
        if area / box_area < _MIN_FILL or marks < _MIN_MARKS:
            continue
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


def _read_crop(
    full: Image.Image,
    cand: LabelCandidate,
    scale_x: float,
    scale_y: float,
    *,
    max_pixels: int | None = _MAX_CROP_PIXELS,
    wanted: str | None = None,
) -> list[DecodedCode]:
    height = cand.bottom - cand.top
    width = cand.right - cand.left
    left = max(0, int((cand.left - width * _CROP_MARGIN) * scale_x) - 8)
    top = max(0, int((cand.top - height * _CROP_MARGIN) * scale_y) - 8)
    right = min(full.width, int((cand.right + width * _CROP_MARGIN) * scale_x) + 8)
    bottom = min(full.height, int((cand.bottom + height * _CROP_MARGIN) * scale_y) + 8)
    factor = 1
    while max_pixels is not None and (right - left) * (bottom - top) / (factor * factor) > max_pixels:
        factor += 1
    if wanted is not None:
        # The blob is the sheet, and the sheet holds the code with its quiet zone: read the blob
        # alone first (a third fewer pixels than with the margin, at the same scale); the margin
        # is for blobs cut short, and is read as before whenever this does not find `wanted`.
        box = (
            max(0, int(cand.left * scale_x) - 8),
            max(0, int(cand.top * scale_y) - 8),
            min(full.width, int(cand.right * scale_x) + 8),
            min(full.height, int(cand.bottom * scale_y) + 8),
        )
        codes = read_codes(_grey_crop(full, box, factor), thorough=False)
        if any(c.text == wanted for c in codes):
            return [_scaled(code, box[0], box[1], factor, factor) for code in codes]
    crop = _grey_crop(full, (left, top, right, bottom), factor)
    # A fast pass finds an upright or slightly tilted label; only then rotate and invert.
    codes = read_codes(crop, thorough=False)
    if not codes and max_pixels is not None:
        codes = read_codes(crop, thorough=True)
    return [_scaled(code, left, top, factor, factor) for code in codes]


def _grey_crop(full: Image.Image, box: tuple[int, int, int, int], factor: int) -> Image.Image:
    crop = full.crop(box)
    if crop.mode != "L":
        crop = crop.convert("L")
    return crop.reduce(factor) if factor > 1 else crop


def _scaled(code: DecodedCode, left: int, top: int, fx: float, fy: float) -> DecodedCode:
    """The code with its corners mapped from a (reduced) crop to full-resolution pixels."""
    corners = tuple((round(left + x * fx), round(top + y * fy)) for x, y in code.corners)
    return DecodedCode(text=code.text, format=code.format, corners=corners)


# --- measuring the sheet around a decoded code -------------------------------------------------

# The sheet around the code when its edges cannot be measured: area = ratio x (code size)^2, from
# the label template this service prints (150x100 mm; Code128 scaled to 88% of the width with its
# quiet zones, QR and DataMatrix in a 55 mm box; tests/photo_factory.py renders the same
# template). With the 14-character order codes, the bars span 78% of the width (area 1.10 L^2 for
# a bar length L), a QR symbol 27% (9.5 S^2), a DataMatrix 35% of the width (5.6 S^2 for its
# longer side S). Other content moves these by ~15%, a carrier's own label by more: an
# estimate, neither a lower nor an upper bound, and never a reason to refuse on its own.
_TEMPLATE_RATIO: Final = {"Code128": 1.10, "QRCode": 9.5, "DataMatrix": 5.6}
# What the code's geometry alone proves: the sheet is at least the code (for Code128 at least
# its bars, >= 10% as tall as long on any label we accept) and at most ~4x the template.
_MIN_BAR_ASPECT: Final = 0.10
_MAX_RATIO_FACTOR: Final = 4.0
# How far from the code centre an edge is searched, in code sizes (a Code128's length, a 2D
# code's side): the template's sheet reaches 0.65 L from a Code128's centre and 1.9 S from a
# QR code's; beyond that a "sheet" is likely a wall, and the share is estimated instead.
_MAX_REACH: Final = {"Code128": 1.5, "QRCode": 2.4, "DataMatrix": 2.4}
# Lines are first sampled this far (the template's edges plus ~40%), then on to `_MAX_REACH`.
_FIRST_REACH: Final = {"Code128": 0.9, "QRCode": 1.9, "DataMatrix": 1.9}
_SAMPLES_PER_LINE: Final = 32
_LINES_PER_CODE: Final = 64.0
_MARGIN_SAMPLES: Final = 64
_PAPER_QUANTILE: Final = 0.9  # upper quantile of a line: the paper between marks
_MIN_CODE_CONTRAST: Final = 25.0  # paper minus ink inside the code, 0-255
_PAPER_TOLERANCE: Final = 0.03  # relative: a line more than this off the paper is not paper
# A measured sheet this many times the template's estimate is taken; outside, the estimate is.
# Real carrier labels with a small code fall outside too: they get the (never refusing)
# estimate. Measured on the synthetic set, a right measurement is within 0.9-1.1x, and the
# searches that ran past an edge as grey as the paper to a door panel's or a parcel's own edge
# land at 1.3-2.5x.
_PLAUSIBLE: Final = (0.6, 1.5)
# An edge whose outside is within this many paper tolerances of the paper is faint: on the
# synthetic set the measurements beside such edges (white walls and doors, pale parcels) that
# were off by 20-43% all had their faintest edge within 1.2-3.6 tolerances, and 0.85-1.18x the
# estimate is where the right ones fell (a faint measurement outside it takes the estimate).
_CLEAR_EDGE: Final = 4.0
_PLAUSIBLE_FAINT: Final = (0.83, 1.2)
_STRETCHES: Final = 8  # an edge's outside is judged in this many stretches along its length
_MAX_PAPERLIKE_OUTSIDE: Final = 0.125
# Blank paper inside an edge, as a share of the sheet across it: labels print to within ~10%.
_MAX_MARGIN: Final = 0.25


def measure_sheet(gray: U8, code: DecodedCode, full_width: int, full_height: int) -> SheetShare:
    """The sheet's share of the frame, measured on `gray` around `code` (full-resolution corners).

    The sheet is the rectangle of paper around the code, aligned with it. Lines parallel to each
    of its four edges are sampled outward from the code's centre; a line belongs to the sheet
    while its upper quantile (the paper between text and bars) stays within a few percent of the
    paper level inside the code itself. So the paper is judged relative to its own code, not by
    an absolute whiteness, and a wall or door that is lighter or darker than the paper by more
    than that ends the sheet. The frame's edge ends it too (the visible part is measured). When an
    edge is not found within reach (a wall as light as the paper) the share is estimated from the
    code's size instead (`_TEMPLATE_RATIO`), flagged as not measured.
    """
    gh, gw = gray.shape
    sx, sy = gw / full_width, gh / full_height
    pts = np.array(code.corners, dtype=np.float64) * np.array([sx, sy])
    frame = float(gw * gh)
    # zxing names them "Code128", "QR Code", "DataMatrix".
    kind = next((k for k in _TEMPLATE_RATIO if k in code.format.replace(" ", "")), "Code128")
    u = (pts[1] - pts[0]) + (pts[2] - pts[3])
    length = float(np.hypot(*u)) / 2.0
    if length < 4.0:
        return _estimate(kind, 1.0, 1.0, frame)
    u /= 2.0 * length
    v = np.array([-u[1], u[0]])
    sides = (pts[3] - pts[0]) + (pts[2] - pts[1])
    if kind == "Code128" and float(np.hypot(*sides)) >= 0.2 * length:
        # zxing reports a linear code's top and bottom as the image rows it scanned, level
        # whatever the tilt; its sides follow the bars, so they give the code's orientation.
        v = sides / float(np.hypot(*sides))
        u = np.array([v[1], -v[0]])
    centre = pts.mean(axis=0)
    half_u = float(np.abs((pts - centre) @ u).max())
    half_v = float(np.abs((pts - centre) @ v).max())
    if kind == "Code128":
        # zxing's quadrilateral of a linear code spans only the scan lines that decoded.
        half_v = max(half_v, _MIN_BAR_ASPECT * half_u)
    size = max(2.0 * half_u, 2.0 * half_v)
    # Lines 1 px apart up to 64 per code size: a large label's edges to within ~1.5%, at a bounded cost
    # (on the synthetic set 100 lines gave the same worst error, 13%, and cost more).
    stride = max(1.0, size / _LINES_PER_CODE)
    # The four directions sampled in one gather and one sort (right, left, down, up).
    axes = np.array([u, -u, v, -v])
    acrosses = (
        np.array([v, v, u, u]) * np.array([0.8 * half_v, 0.8 * half_v, 0.8 * half_u, 0.8 * half_u])[:, None]
    )
    # Most sheets end within the first reach: only when an edge is not found there are lines
    # sampled on to the full reach (the edges found are the same either way).
    steps = np.arange(0.0, _FIRST_REACH[kind] * size + 2.0, stride)
    sorted_all, outside_all = _sorted_lines(gray, centre, axes, acrosses, steps)
    # Paper and ink from the lines across the code near its centre (parallel to its length:
    # through bars and spaces, or a 2D code's modules): its spaces are the paper itself.
    inside = max(1, int(0.6 * half_v / stride))
    code_px = np.concatenate([sorted_all[2][:inside], sorted_all[3][:inside]])
    top = int(_PAPER_QUANTILE * (_SAMPLES_PER_LINE - 1))
    paper_hi = _median(code_px[:, top])
    ink = _median(code_px[:, _SAMPLES_PER_LINE - 1 - top])
    contrast = paper_hi - ink
    if contrast < _MIN_CODE_CONTRAST:
        return _estimate(kind, 2.0 * half_u, 2.0 * half_v, frame)
    spaces = code_px[code_px > paper_hi - 0.3 * contrast]
    paper = _median(spaces) if spaces.size else paper_hi
    starts = (half_u, half_u, half_v, half_v)
    run = max(2, int(0.03 * size / stride))
    found = _edge_ends(sorted_all, outside_all, starts, stride, run, paper, paper_hi, contrast)
    if found is None:
        steps = np.arange(0.0, _MAX_REACH[kind] * size + 2.0, stride)
        sorted_all, outside_all = _sorted_lines(gray, centre, axes, acrosses, steps)
        found = _edge_ends(sorted_all, outside_all, starts, stride, run, paper, paper_hi, contrast)
    if found is None:
        return _estimate(kind, 2.0 * half_u, 2.0 * half_v, frame)
    ends = found
    area = (ends[0] + ends[1]) * (ends[2] + ends[3])
    estimate = _estimate(kind, 2.0 * half_u, 2.0 * half_v, frame)
    tolerance = max(3.0, _PAPER_TOLERANCE * paper)
    stretches, framed = _edge_outsides(gray, centre, u, v, ends, run * stride)
    paperlike = (np.abs(stretches - paper) <= tolerance) & framed
    if (paperlike.mean(axis=1) > _MAX_PAPERLIKE_OUTSIDE).any() or not _margins_hold(
        gray, centre, u, v, ends, paper - 0.25 * contrast
    ):
        # Beyond some edge, along its length, lies more of the same paper-grey: the search ran
        # past an invisible edge (a label on a white box) to the next one. Not measured.
        return estimate
    # How sure the edges are: the faintest edge's step from the paper to its outside (the frame's
    # edge is sure). Beside a door or wall within a few percent of the paper's grey, shading and
    # noise move the found edge by a tenth of the sheet or more, so such a measurement is taken
    # only where it agrees with the template's estimate to within what it can resolve.
    steps = np.median(np.where(framed, np.abs(stretches - paper), np.inf), axis=1)
    faint = float(steps.min()) < _CLEAR_EDGE * tolerance
    low, high = _PLAUSIBLE_FAINT if faint else _PLAUSIBLE
    if not low <= area / frame / estimate.share <= high:
        # Not a sheet of any label we know around this code: merged with its surroundings, or
        # cut short by something on the sheet; or the edges too faint to overrule the estimate.
        return estimate
    return SheetShare(share=area / frame, measured=True, low=area / frame, high=area / frame)


def _edge_ends(
    sorted_all: npt.NDArray[np.float64],
    outside_all: npt.NDArray[np.bool_],
    starts: tuple[float, float, float, float],
    stride: float,
    run: int,
    paper: float,
    paper_hi: float,
    contrast: float,
) -> list[float] | None:
    """Each direction's distance from the code's centre to the sheet's edge, or None when an
    edge is not within the sampled lines. The four directions are judged together: (4, lines)."""
    top = int(_PAPER_QUANTILE * (_SAMPLES_PER_LINE - 1))
    count = sorted_all.shape[1]
    if count < run:
        return None
    hi = sorted_all[:, :, top]
    lo = sorted_all[:, :, _SAMPLES_PER_LINE - 1 - top]
    middle = sorted_all[:, :, _SAMPLES_PER_LINE // 2]
    gaps = sorted_all[:, :, -2]
    index = np.arange(count)
    begins = np.maximum(1, (np.array(starts) / stride).astype(np.intp))[:, None]
    tolerance = max(3.0, _PAPER_TOLERANCE * paper)
    # A blank line is paper if its median is the paper's (the code's spaces, +-3%: shading
    # across a sheet stays within that, a light wall or parcel rarely does).
    blank = (hi - lo) < 0.35 * contrast
    # The quiet zone just past the code's end on each side is paper by definition: shading
    # across a sheet moves the paper's level, so compare with the paper on that side.
    quiet = blank & (index >= begins) & (index < begins + run + 2)
    levels = np.full((4, 1), paper)
    for k in range(4):
        values = middle[k][quiet[k]]
        level = _median(values) if values.size else paper
        if abs(level - paper) <= 2.0 * tolerance:
            levels[k, 0] = level
    on_paper = blank & (np.abs(middle - levels) <= tolerance + 0.5 * (paper_hi - paper))
    # A line with text or bars: dark marks with paper between them (a dark door frame or
    # floor grout has no paper-level gaps). The brightest samples of a printed line are the
    # paper between its marks; a dense line of text leaves only a few of them.
    marked = (
        ~blank
        & (lo < paper_hi - 0.4 * contrast)
        & (gaps >= paper_hi - 0.25 * contrast)
        & (gaps <= paper_hi + 2.0 * tolerance)
    )
    off = (~(on_paper | marked) | outside_all) & (index >= begins)
    # The first run of `run` lines off the sheet, per direction.
    sums = np.concatenate([np.zeros((4, 1), dtype=np.intp), np.cumsum(off, axis=1)], axis=1)
    hits = (sums[:, run:] - sums[:, :-run]) == run
    if not hits.any(axis=1).all():
        return None
    ends = hits.argmax(axis=1)[:, None]
    # A label has a blank margin inside its edge: "marks" after the last blank paper line are
    # a light wall's or door's own features (mouldings, grout) that happened to pass as print.
    paperish = blank & (np.abs(middle - levels) <= 2.0 * tolerance) & (index >= begins) & (index < ends)
    last = count - 1 - paperish[:, ::-1].argmax(axis=1)
    ends = np.where(paperish.any(axis=1), last + 1, ends[:, 0])
    # Between the last paper line and the first other.
    return [float((end - 0.5) * stride) for end in ends]


def _edge_outsides(
    gray: U8,
    centre: npt.NDArray[np.float64],
    u: npt.NDArray[np.float64],
    v: npt.NDArray[np.float64],
    ends: list[float],
    gap: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Just outside each edge of the found rectangle (right, left, down, up), along its whole
    length: the medians of `_STRETCHES` short stretches (noise averaged, a stretch of wall as
    grey as paper kept), shape (4, stretches), and which stretches lie inside the frame."""
    right, left, down, up = ends
    gh, gw = gray.shape
    normals = np.array([u, -u, v, -v])
    alongs = np.array([v, v, u, u])
    dists = np.array([right, left, down, up]) + gap + 1.0
    starts = np.array([-up, -up, -left, -left])
    spans = np.array([down + up, down + up, right + left, right + left])
    fractions = np.linspace(0.05, 0.95, _SAMPLES_PER_LINE)
    ts = starts[:, None] + spans[:, None] * fractions[None, :]
    xs = centre[0] + dists[:, None] * normals[:, None, 0] + ts * alongs[:, None, 0]
    ys = centre[1] + dists[:, None] * normals[:, None, 1] + ts * alongs[:, None, 1]
    xi = np.rint(xs).astype(np.intp)
    yi = np.rint(ys).astype(np.intp)
    inside = (xi >= 0) & (xi < gw) & (yi >= 0) & (yi < gh)
    values = gray[np.minimum(np.maximum(yi, 0), gh - 1), np.minimum(np.maximum(xi, 0), gw - 1)]
    per = _SAMPLES_PER_LINE // _STRETCHES
    stretches = np.median(values.reshape(4, _STRETCHES, per).astype(np.float64), axis=2)
    return stretches, inside.reshape(4, _STRETCHES, per).all(axis=2)


def _margins_hold(
    gray: U8,
    centre: npt.NDArray[np.float64],
    u: npt.NDArray[np.float64],
    v: npt.NDArray[np.float64],
    ends: list[float],
    ink: float,
) -> bool:
    """Whether printing (text, bars) comes within `_MAX_MARGIN` of each edge of the found rectangle.

    A label is printed to within a few millimetres of its edges; a rectangle with a wide blank
    band inside one edge is the sheet plus a stretch of door or parcel as grey as the paper.
    """
    right, left, down, up = ends
    gh, gw = gray.shape
    normals = np.array([u, -u, v, -v])
    alongs = np.array([v, v, u, u])
    dists = np.array([right, left, down, up])
    extents = np.array([right + left, right + left, up + down, up + down])
    spans = np.array([down + up, down + up, right + left, right + left])
    mids = np.array([(down - up) / 2.0, (down - up) / 2.0, (right - left) / 2.0, (right - left) / 2.0])
    # Lines parallel to each edge, from the edge inward, ~1/100 of the sheet apart: the same
    # number of lines for every edge, so the four are sampled in one gather.
    strides = np.maximum(1.0, extents / _LINES_PER_CODE)
    depths = _MAX_MARGIN * extents + 1.0
    lines = np.ceil(depths / strides)
    count = int(lines.max())
    steps = np.minimum(np.arange(count)[None, :], lines[:, None] - 1.0) * strides[:, None]
    offsets = np.linspace(-0.45, 0.45, _MARGIN_SAMPLES)
    along = mids[:, None, None] + offsets[None, None, :] * spans[:, None, None]
    across = dists[:, None, None] - steps[:, :, None]
    xs = centre[0] + across * normals[:, None, None, 0] + along * alongs[:, None, None, 0]
    ys = centre[1] + across * normals[:, None, None, 1] + along * alongs[:, None, None, 1]
    xi = np.minimum(np.maximum(np.rint(xs).astype(np.intp), 0), gw - 1)
    yi = np.minimum(np.maximum(np.rint(ys).astype(np.intp), 0), gh - 1)
    # The third darkest sample of a line: a mark, not a speck of noise.
    third = np.partition(gray[yi, xi], 2, axis=2)[:, :, 2]
    return bool((third < ink).any(axis=1).all())


def _sorted_lines(
    gray: U8,
    centre: npt.NDArray[np.float64],
    axes: npt.NDArray[np.float64],
    acrosses: npt.NDArray[np.float64],
    steps: npt.NDArray[np.float64],
    *,
    samples: int = _SAMPLES_PER_LINE,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """For each direction k, lines across `axes[k]` at each step, each spanning -+`acrosses[k]`
    (nearest pixels, sorted per line: shape (k, steps, samples)), and which left the frame."""
    gh, gw = gray.shape
    offsets = np.linspace(-1.0, 1.0, samples)
    xs = centre[0] + steps[None, :, None] * axes[:, None, None, 0] + offsets * acrosses[:, None, None, 0]
    ys = centre[1] + steps[None, :, None] * axes[:, None, None, 1] + offsets * acrosses[:, None, None, 1]
    xi = np.rint(xs).astype(np.intp)
    yi = np.rint(ys).astype(np.intp)
    inside = (xi >= 0) & (xi < gw) & (yi >= 0) & (yi < gh)
    values = gray[np.minimum(np.maximum(yi, 0), gh - 1), np.minimum(np.maximum(xi, 0), gw - 1)]
    # Sorting uint8 then converting is cheaper than the other way round.
    return np.sort(values, axis=2).astype(np.float64), inside.sum(axis=2) < 0.7 * samples


def _median(values: npt.NDArray[np.float64]) -> float:
    """np.median of a 1-D array without its overhead (a tenth of the cost on these short lines)."""
    n = values.size
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    part = np.partition(values, (half - 1, half))
    return float(part[half - 1] + part[half]) / 2.0


def _estimate(kind: str, length: float, height: float, frame: float) -> SheetShare:
    """The sheet from the code's size alone: the template's ratio, bounded by what is proven."""
    side = max(length, height) if kind != "Code128" else length
    estimate = _TEMPLATE_RATIO[kind] * side * side / frame
    code_area = length * (max(height, _MIN_BAR_ASPECT * length) if kind == "Code128" else height)
    return SheetShare(
        share=estimate, measured=False, low=code_area / frame, high=estimate * _MAX_RATIO_FACTOR
    )
