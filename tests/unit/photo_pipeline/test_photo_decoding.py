"""Decoding: the reused per-thread planes, the planar decoder against its fallback, every layout."""

from __future__ import annotations

import io
import os
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from photo_pipeline import Expectations, InvalidPhoto, PhotoLimits, Verdict, hamming, turbojpeg, verify
from tests.photo_factory import DEFAULT_LABEL_CODE, PhotoSpec, make_photo

LARGE = PhotoSpec(width=1600, height=1200, label_share=0.05)
SMALL = replace(LARGE, width=800, height=600, seed=1, orientation=6)
# Reduced by 2 for the customer copy: chroma planes are reduced by 2, 4 or (4, 2) by layout.
REDUCED = replace(LARGE, width=2400, height=1800, seed=2)


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


def test_planar_and_fallback_decoders_agree(
    expectations: Expectations, limits: PhotoLimits, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not turbojpeg.AVAILABLE:
        pytest.skip("libturbojpeg is not installed (Debian: apt-get install libturbojpeg0)")
    data = make_photo(REDUCED)
    planar = verify(data, expectations, limits)
    monkeypatch.setattr(turbojpeg, "AVAILABLE", False)
    fallback = verify(data, expectations, limits)
    assert planar.failed_codes == fallback.failed_codes
    assert planar.decoded_label == fallback.decoded_label
    assert planar.label_share == pytest.approx(fallback.label_share, rel=0.05)
    assert hamming(planar.perceptual_hash, fallback.perceptual_hash) <= 2
    planar_copy, fallback_copy = _rgb(planar.customer_copy), _rgb(fallback.customer_copy)
    assert planar_copy.shape == fallback_copy.shape == (900, 1200, 3)
    assert float(np.abs(planar_copy - fallback_copy).mean()) < 3.0


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0", "gray"])
def test_customer_copy_keeps_the_colours_of_any_layout(
    subsampling: str, expectations: Expectations, limits: PhotoLimits
) -> None:
    original = Image.open(io.BytesIO(make_photo(REDUCED)))
    exif = original.info["exif"]
    source = original.convert("L") if subsampling == "gray" else original.convert("RGB")
    stored = io.BytesIO()
    options = {} if subsampling == "gray" else {"subsampling": subsampling}
    source.save(stored, "JPEG", quality=95, exif=exif, **options)
    verdict = verify(stored.getvalue(), expectations, limits)
    assert verdict.decoded_label == DEFAULT_LABEL_CODE
    copy = Image.open(io.BytesIO(verdict.customer_copy))
    assert copy.mode == ("L" if subsampling == "gray" else "RGB")
    assert copy.size == (1200, 900)
    assert not copy.info.get("exif")
    want = np.asarray(source.reduce(2), dtype=np.float32)
    assert float(np.abs(np.asarray(copy, dtype=np.float32) - want).mean()) < 4.0


def test_the_fast_decoder_is_installed_in_ci() -> None:
    """The speed target rests on the planar decode; CI must not silently fall back."""
    if os.environ.get("CI") != "true" and not turbojpeg.AVAILABLE:
        pytest.skip("libturbojpeg is not installed: the slower simplejpeg fallback is in use")
    assert turbojpeg.AVAILABLE, "libturbojpeg missing under CI=true (Debian: apt-get install libturbojpeg0)"


def _rgb(jpeg: bytes) -> npt.NDArray[np.float32]:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0", "gray"])
@pytest.mark.parametrize("orientation", [1, 6])
def test_odd_sizes_give_a_whole_customer_copy(
    subsampling: str, orientation: int, expectations: Expectations, limits: PhotoLimits
) -> None:
    """Plane sizes round up at odd widths and heights; the copy must still be the reduced frame."""
    spec = replace(LARGE, width=1701, height=1277, seed=3, orientation=orientation)
    original = Image.open(io.BytesIO(make_photo(spec)))
    source = original.convert("L") if subsampling == "gray" else original.convert("RGB")
    stored = io.BytesIO()
    options = {} if subsampling == "gray" else {"subsampling": subsampling}
    source.save(stored, "JPEG", quality=95, exif=original.info["exif"], **options)
    verdict = verify(stored.getvalue(), expectations, limits)
    copy = Image.open(io.BytesIO(verdict.customer_copy))
    # Shown 1701x1277 (stored 1277x1701 for orientation 6), reduced by 2 rounding up, shown upright.
    assert copy.size == (851, 639)
    copy.load()
