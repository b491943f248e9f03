"""Format 1 of the doorstep fingerprint, as the code computed it until format 2 replaced it.

Kept only to prove that fingerprints already stored in the database (format 1) compare with new
ones (format 2) as they compared with each other: `test_photo_doorstep` and the accuracy bench
use it. Format 1 summed its box windows with float32 integral images, which round once a window's
running total passes 2^24 (the lower right of the frame): that rounding, and so these exact
bytes, cannot be had from the faster exact sums of format 2. Do not use it for anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from photo_pipeline.doorstep import _BORDER, _HEADER, _NMS, _WEAK, MAX_POINTS, WORK_SIDE, Occluder, _orient

F32 = npt.NDArray[np.float32]


def format1_fingerprint(stored: Image.Image, orientation: int, occluders: Sequence[Occluder]) -> bytes:
    """The format-1 fingerprint exactly as it was computed until format 2 (byte for byte)."""
    gray = stored if stored.mode == "L" else stored.convert("L")
    factor = WORK_SIDE / max(gray.size)
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    work = np.asarray(gray.resize(size, Image.Resampling.BOX, reducing_gap=2.0), dtype=np.float32)
    points = _corners(work, occluders)
    bits = _grids(work, points)
    # To the displayed frame: coordinates and grids turned as the EXIF orientation says.
    height, width = work.shape
    points, bits, (width, height) = _orient(points, bits, width, height, orientation)
    head = _HEADER.pack(1, width, height, len(points))
    coords = np.clip(np.round(points * 64.0), 0, 65535).astype("<u2").tobytes()
    return head + coords + np.packbits(bits.reshape(len(bits), 128), axis=1).tobytes()


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
