"""The per-thread decode buffer is reused across photos: nothing of one photo may leak into the next."""

from __future__ import annotations

from dataclasses import replace

import pytest

from photo_pipeline import Expectations, InvalidPhoto, PhotoLimits, Verdict, verify
from tests.photo_factory import PhotoSpec, make_photo

LARGE = PhotoSpec(width=1600, height=1200, label_share=0.05)
SMALL = replace(LARGE, width=800, height=600, seed=1, orientation=6)


def _fingerprint(verdict: Verdict) -> tuple[object, ...]:
    return (verdict.perceptual_hash, verdict.detail_hash, verdict.decoded_label, verdict.customer_copy)


@pytest.fixture
def limits() -> PhotoLimits:
    """Default limits but any size: these tests use small images to reach the later checks quickly."""
    return PhotoLimits(min_pixels=1)


def test_reused_buffer_gives_the_same_verdicts(expectations: Expectations, limits: PhotoLimits) -> None:
    large, small = make_photo(LARGE), make_photo(SMALL)
    first_large = verify(large, expectations, limits)
    first_small = verify(small, expectations, limits)  # decoded into the larger photo's buffer
    assert _fingerprint(verify(large, expectations, limits)) == _fingerprint(first_large)
    assert _fingerprint(verify(small, expectations, limits)) == _fingerprint(first_small)


def test_cut_scan_after_a_good_photo_is_still_refused(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    data = make_photo(LARGE)
    verify(data, expectations, limits)  # the buffer now holds a complete decode of the same photo
    # Markers intact, entropy data cut in half: only the strict decoder can tell.
    cut = data[: len(data) // 2] + b"\xff\xd9"
    with pytest.raises(InvalidPhoto) as caught:
        verify(cut, expectations, limits)
    assert caught.value.code == "photo.undecodable"
