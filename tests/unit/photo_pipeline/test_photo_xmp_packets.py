"""Editing history is found in every XMP packet, and XMP is bounded in count and size.

A check that reads only the first XMP packet is blind to a benign packet placed first with the
Photoshop history in a second one; a file of hundreds of packets makes every search expensive.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from photo_pipeline import Expectations, InvalidPhoto, PhotoLimits, Verdict, verify
from photo_pipeline.jpeg_markers import MAX_XMP_BYTES, MAX_XMP_SEGMENTS
from tests.photo_factory import PhotoSpec, make_photo, xmp_extension_chunk, xmp_packet

SPEC = PhotoSpec(width=1200, height=900, label_share=0.06, label_center=(0.7, 0.3))
BENIGN = xmp_packet(
    '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Pixel 8"/>'
)
PHOTOSHOP_HISTORY = xmp_packet(
    '<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"'
    ' xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"><xmpMM:History><rdf:Seq>'
    '<rdf:li stEvt:action="saved" stEvt:softwareAgent="Adobe Photoshop 25.0"/>'
    "</rdf:Seq></xmpMM:History></rdf:Description>"
)
GUID = b"0123456789ABCDEF0123456789ABCDEF"


def _edited(segments: tuple[bytes, ...], expectations: Expectations, limits: PhotoLimits) -> Verdict:
    return verify(make_photo(replace(SPEC, xmp_segments=segments)), expectations, limits)


def _check(verdict: Verdict, code: str) -> tuple[bool, str]:
    found = next(c for c in verdict.checks if c.code == code)
    return found.passed, found.detail


def test_one_benign_packet_passes(expectations: Expectations, limits: PhotoLimits) -> None:
    passed, detail = _check(_edited((BENIGN,), expectations, limits), "provenance.edited")
    assert passed, detail


def test_history_in_the_second_packet_is_found(expectations: Expectations, limits: PhotoLimits) -> None:
    passed, detail = _check(_edited((BENIGN, PHOTOSHOP_HISTORY), expectations, limits), "provenance.edited")
    assert not passed
    assert "XMP packet 2 of 2" in detail
    assert "xmpMM:History" in detail


def test_history_in_extended_xmp_split_across_chunks_is_found(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    full = b"<x:xmpmeta>" + b" " * 100 + b"<xmpMM:History/></x:xmpmeta>"
    split = full.index(b"History") + 3  # the mark is cut in two; the chunks come in reverse order
    chunks = (
        xmp_extension_chunk(GUID, full, split, len(full) - split),
        xmp_extension_chunk(GUID, full, 0, split),
    )
    passed, detail = _check(_edited((BENIGN, *chunks), expectations, limits), "provenance.edited")
    assert not passed
    assert "xmpMM:History" in detail


def test_more_packets_than_the_limit_are_refused(expectations: Expectations, limits: PhotoLimits) -> None:
    data = make_photo(replace(SPEC, xmp_segments=(BENIGN,) * (MAX_XMP_SEGMENTS + 1)))
    with pytest.raises(InvalidPhoto) as caught:
        verify(data, expectations, limits)
    assert caught.value.code == "photo.bad_xmp"
    assert f"more than {MAX_XMP_SEGMENTS} XMP segments" in caught.value.detail


def test_the_limit_itself_is_accepted(expectations: Expectations, limits: PhotoLimits) -> None:
    passed, detail = _check(_edited((BENIGN,) * MAX_XMP_SEGMENTS, expectations, limits), "provenance.edited")
    assert passed, detail


def test_more_xmp_bytes_than_the_limit_are_refused(expectations: Expectations, limits: PhotoLimits) -> None:
    filler = "<!--" + "x" * 60_000 + "-->"
    packets = (xmp_packet(filler),) * (MAX_XMP_BYTES // 60_000 + 1)
    assert len(packets) <= MAX_XMP_SEGMENTS
    with pytest.raises(InvalidPhoto) as caught:
        verify(make_photo(replace(SPEC, xmp_segments=packets)), expectations, limits)
    assert caught.value.code == "photo.bad_xmp"
    assert f"more than {MAX_XMP_BYTES} bytes of XMP" in caught.value.detail


def test_a_broken_extension_chunk_is_refused(expectations: Expectations, limits: PhotoLimits) -> None:
    broken = b"http://ns.adobe.com/xmp/extension/\x00" + GUID[:10]
    with pytest.raises(InvalidPhoto) as caught:
        verify(make_photo(replace(SPEC, xmp_segments=(broken,))), expectations, limits)
    assert caught.value.code == "photo.bad_xmp"
