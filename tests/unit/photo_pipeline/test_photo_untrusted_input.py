"""Hostile and broken bytes: only InvalidPhoto or a Verdict may come out, never another error."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from photo_pipeline import INVALID_PHOTO_CODES, Expectations, InvalidPhoto, PhotoLimits, Verdict, verify
from photo_pipeline.jpeg_markers import MAX_SCANS
from tests.photo_factory import PhotoSpec, make_photo

# A tiny valid photo keeps hypothesis fast; the label is irrelevant to these tests.
SMALL = make_photo(PhotoSpec(width=160, height=120, include_label=False))


def _verify_or_invalid(data: bytes, expectations: Expectations, limits: PhotoLimits) -> None:
    try:
        result = verify(data, expectations, limits)
    except InvalidPhoto as exc:
        code = exc.code
    else:
        assert isinstance(result, Verdict)
        return
    assert code in INVALID_PHOTO_CODES


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_refused_cleanly(
    data: bytes, expectations: Expectations, limits: PhotoLimits
) -> None:
    _verify_or_invalid(data, expectations, limits)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flips=st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 7)), min_size=1, max_size=8),
)
def test_bit_flipped_jpeg_is_verdict_or_invalid(
    flips: list[tuple[int, int]], expectations: Expectations, limits: PhotoLimits
) -> None:
    mutated = bytearray(SMALL)
    for offset, bit in flips:
        mutated[offset] ^= 1 << bit
    _verify_or_invalid(bytes(mutated), expectations, limits)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(SMALL) - 1))
def test_truncated_jpeg_is_refused(cut: int, expectations: Expectations, limits: PhotoLimits) -> None:
    with pytest.raises(InvalidPhoto):
        verify(SMALL[:cut], expectations, limits)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(0, 400), junk=st.binary(min_size=1, max_size=16))
def test_corrupted_exif_header_is_verdict_or_invalid(
    offset: int, junk: bytes, expectations: Expectations, limits: PhotoLimits
) -> None:
    start = SMALL.find(b"Exif\x00\x00")
    assert start > 0
    at = start + offset
    mutated = SMALL[:at] + junk + SMALL[at + len(junk) :]
    _verify_or_invalid(mutated, expectations, limits)


@pytest.fixture
def limits() -> PhotoLimits:
    """Default limits but any size: these tests use small images to reach the later checks quickly."""
    return PhotoLimits(min_pixels=1)


def test_truncated_jpeg_raises_truncated(expectations: Expectations, limits: PhotoLimits) -> None:
    with pytest.raises(InvalidPhoto) as caught:
        verify(SMALL[:-200], expectations, limits)
    assert caught.value.code == "photo.truncated"


def test_empty_body(expectations: Expectations, limits: PhotoLimits) -> None:
    with pytest.raises(InvalidPhoto) as caught:
        verify(b"", expectations, limits)
    assert caught.value.code == "photo.empty"


def test_png_is_not_jpeg(expectations: Expectations, limits: PhotoLimits) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    with pytest.raises(InvalidPhoto) as caught:
        verify(buf.getvalue(), expectations, limits)
    assert caught.value.code == "photo.not_jpeg"


def test_polyglot_tail_is_refused(expectations: Expectations, limits: PhotoLimits) -> None:
    with pytest.raises(InvalidPhoto) as caught:
        verify(SMALL + b"PK\x03\x04" + b"\x00" * 600, expectations, limits)
    assert caught.value.code == "photo.trailing_data"


def test_small_firmware_trailer_and_padding_are_tolerated(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    assert isinstance(verify(SMALL + b"\x00" * 1000, expectations, limits), Verdict)
    trailer = b"\x00\x00\x01\n\x0e\x00Image_UTC_Data1700000000000"  # as a Samsung S7 appends
    assert isinstance(verify(SMALL + trailer, expectations, limits), Verdict)


def _claim_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the SOF0 frame header to claim another size, leaving the scan untouched."""
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def test_decompression_bomb_header_is_refused_before_decoding(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    bomb = _claim_size(SMALL, 9_000, 9_000)  # 81 MP claimed by a few kilobytes
    with pytest.raises(InvalidPhoto) as caught:
        verify(bomb, expectations, limits)
    assert caught.value.code == "photo.too_many_pixels"


def test_absurd_side_is_refused(expectations: Expectations, limits: PhotoLimits) -> None:
    with pytest.raises(InvalidPhoto) as caught:
        verify(_claim_size(SMALL, 20_000, 100), expectations, limits)
    assert caught.value.code == "photo.too_large_dimensions"


def test_oversized_body_is_refused(expectations: Expectations) -> None:
    with pytest.raises(InvalidPhoto) as caught:
        verify(SMALL, expectations, PhotoLimits(max_bytes=100))
    assert caught.value.code == "photo.too_many_bytes"


def test_progressive_photos_pass_but_scan_bombs_are_refused(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    image = Image.open(io.BytesIO(SMALL))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, progressive=True, exif=image.info["exif"])
    progressive = out.getvalue()
    assert progressive.count(b"\xff\xda") >= 6
    assert isinstance(verify(progressive, expectations, limits), Verdict)
    # The last scan repeated until there are more than MAX_SCANS: each costs the decoder a pass.
    last_scan = progressive[progressive.rfind(b"\xff\xda") : -2]
    bomb = progressive[:-2] + last_scan * MAX_SCANS + b"\xff\xd9"
    with pytest.raises(InvalidPhoto) as caught:
        verify(bomb, expectations, limits)
    assert (caught.value.code, caught.value.detail) == ("photo.undecodable", f"more than {MAX_SCANS} scans")
