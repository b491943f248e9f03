"""One case per EXIF orientation: the customer copy and the perceptual hash come out upright."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from photo_pipeline import Expectations, PhotoLimits, Verdict, hamming, verify
from tests.photo_factory import PhotoSpec, make_photo

SPEC = PhotoSpec(width=1200, height=900, label_share=0.06, label_center=(0.7, 0.3))


def _verdict(orientation: int, expectations: Expectations, limits: PhotoLimits) -> Verdict:
    spec = replace(SPEC, orientation=orientation)
    return verify(make_photo(spec), expectations, limits)


def _pixels(verdict: Verdict) -> npt.NDArray[np.float32]:
    # Compared at 1/8 scale: JPEG grain differs when the stored pixels were transposed.
    with Image.open(io.BytesIO(verdict.customer_copy)) as image:
        return np.asarray(image.convert("L").reduce(8), dtype=np.float32)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_customer_copy_is_upright(orientation: int, expectations: Expectations, limits: PhotoLimits) -> None:
    reference = _verdict(1, expectations, limits)
    verdict = _verdict(orientation, expectations, limits)
    assert verdict.capture.orientation == orientation
    assert (verdict.capture.width, verdict.capture.height) == (1200, 900)
    got, want = _pixels(verdict), _pixels(reference)
    assert got.shape == want.shape == (113, 150)
    assert float(np.abs(got - want).mean()) < 2.0
    assert float(np.abs(got - want[::-1, ::-1]).mean()) > 10.0  # the scene is not symmetric
    assert hamming(verdict.perceptual_hash, reference.perceptual_hash) <= 4
