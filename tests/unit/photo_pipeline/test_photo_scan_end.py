"""The end of the entropy-coded data is found exactly where the JPEG rules put it, across chunks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photo_pipeline import jpeg_markers

# The rule written as a regular expression: FF, then anything but a stuffing zero, a restart
# marker (D0-D7) or another fill FF.
REFERENCE = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Scan-like bytes: mostly FF and the bytes that may follow it, so that every case occurs often.
SCAN_BYTES = st.binary(max_size=64).map(lambda raw: bytes((0xFF, 0x00, 0xD3, 0xD9, 0x42)[b % 5] for b in raw))


@given(data=SCAN_BYTES, pos=st.integers(min_value=0, max_value=8))
def test_marker_in_scan_agrees_with_the_rule(data: bytes, pos: int) -> None:
    expected = REFERENCE.search(data, pos)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jpeg_markers, "_SCAN_CHUNK", 3)  # small chunks: markers straddle their edges
        found = jpeg_markers._marker_in_scan(data, pos)
    assert found == (expected.start() if expected else None)
