"""The customer copy is the photo as Pillow shows it, row by row, at every size.

Odd sizes are where the planar path can go wrong: libjpeg-turbo pads each plane to whole chroma
samples, and a plane sized without that padding once put luma into the first chroma rows (a
colour stripe across the top of the copy) or read past the end of the luma buffer.
"""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageOps

from photo_pipeline import Expectations, PhotoLimits, verify
from tests.photo_factory import PhotoSpec, make_photo

SPEC = PhotoSpec(label_share=0.05, label_center=(0.6, 0.4))
# Per row and channel, the mean absolute difference from Pillow's rendering: ~1.5 over the frame,
# up to ~9 on a row along a sharp colour edge of a flipped photo (4:2:0 chroma pairs its rows from
# the other end); a row of luma decoded into chroma (the old colour stripe) measured 47-68.
ROW_TOLERANCE = 12.0


def _pillow_rendering(original: bytes, max_side: int, mode: str) -> npt.NDArray[np.int16]:
    """Pillow's decode of the original, reduced by the same whole factor, orientation applied.

    The same box reduction as the pipeline, not a resize to the copy's size: a fractional
    scale drifts by up to a pixel across the frame, which on fine texture is a real difference.
    """
    with Image.open(io.BytesIO(original)) as image:
        factor = math.ceil(max(image.size) / max_side)
        reduced = image.convert(mode).reduce(factor)
        reduced.info["exif"] = image.info.get("exif", b"")
        reduced.getexif().update(image.getexif())
        upright = ImageOps.exif_transpose(reduced)
        return np.asarray(upright, dtype=np.int16)


@pytest.mark.parametrize(
    ("width", "height", "orientation"),
    [
        (1601, 1200, 1),
        (1600, 1201, 1),
        (851, 639, 1),
        (2001, 1499, 1),
        (2001, 1499, 6),
        (4000, 2252, 1),  # a 1334x751 copy
        (4000, 2252, 8),
        (1599, 1201, 3),
    ],
)
def test_customer_copy_matches_pillow_on_every_row(
    width: int, height: int, orientation: int, expectations: Expectations, limits: PhotoLimits
) -> None:
    original = make_photo(replace(SPEC, width=width, height=height, orientation=orientation))
    verdict = verify(original, expectations, limits)
    with Image.open(io.BytesIO(verdict.customer_copy)) as copy:
        assert copy.mode == "RGB"
        got = np.asarray(copy, dtype=np.int16)
        size = copy.size
    assert max(size) <= limits.customer_copy_max_side
    want = _pillow_rendering(original, limits.customer_copy_max_side, "RGB")
    assert want.shape == got.shape
    per_row = np.abs(got - want).mean(axis=1)  # rows x channels
    worst_row, worst_channel = np.unravel_index(int(per_row.argmax()), per_row.shape)
    assert per_row.max() < ROW_TOLERANCE, (
        f"row {worst_row} of {size[1]}, channel {'RGB'[worst_channel]}: mean difference {per_row.max():.1f}"
    )
    # The edges in particular: a stripe sits in the first or last chroma rows.
    assert per_row[:4].max() < ROW_TOLERANCE
    assert per_row[-4:].max() < ROW_TOLERANCE


def test_grayscale_customer_copy_matches_pillow(expectations: Expectations, limits: PhotoLimits) -> None:
    coloured = make_photo(replace(SPEC, width=1601, height=1201))
    with Image.open(io.BytesIO(coloured)) as image:
        exif = image.info["exif"]
        out = io.BytesIO()
        image.convert("L").save(out, "JPEG", quality=90, exif=exif)
    original = out.getvalue()
    verdict = verify(original, expectations, limits)
    with Image.open(io.BytesIO(verdict.customer_copy)) as copy:
        got = np.asarray(copy.convert("L"), dtype=np.int16)
        size = copy.size
    want = _pillow_rendering(original, limits.customer_copy_max_side, "L")
    assert want.shape == got.shape == (size[1], size[0])
    assert np.abs(got - want).mean(axis=1).max() < ROW_TOLERANCE
