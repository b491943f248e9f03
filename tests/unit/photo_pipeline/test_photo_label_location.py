"""Locating the label sheet: the hand-written 3x3 morphology equals scipy's filters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage  # type: ignore[import-untyped]

from photo_pipeline.label import _max3x3, _min3x3


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 1), (2, 2), (37, 53), (250, 333)])
def test_closing_matches_scipy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for density in (0.1, 0.5, 0.9):
        binary = (rng.random(shape) < density).view(np.uint8)
        assert np.array_equal(_max3x3(binary), ndimage.maximum_filter(binary, size=3))
        assert np.array_equal(_min3x3(binary), ndimage.minimum_filter(binary, size=3))
