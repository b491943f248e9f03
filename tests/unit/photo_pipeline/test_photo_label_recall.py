"""Small Code128 labels on full 12 MP photos: every one between 2.5% and 5% of the frame decodes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from photo_pipeline import Expectations, PhotoLimits, verify
from tests.photo_factory import PhotoSpec, make_photo

TWELVE_MP = PhotoSpec(width=4000, height=3000)
CASES = [(0.025, -3.0, 1), (0.03, 4.0, 2), (0.04, -6.0, 3), (0.05, 2.0, 4)]


@pytest.mark.parametrize(("share", "angle", "seed"), CASES)
def test_small_code128_label_decodes(
    share: float, angle: float, seed: int, expectations: Expectations, limits: PhotoLimits
) -> None:
    spec = replace(TWELVE_MP, label_share=share, angle=angle, seed=seed % 2)
    verdict = verify(make_photo(spec), expectations, limits)
    assert verdict.decoded_label == expectations.label_code
    assert verdict.accepted, [c for c in verdict.checks if not c.passed]
    assert verdict.label_share == pytest.approx(share, rel=0.1)
