"""A strict walk over the marker structure of a JPEG, without decoding it.

It finds the APPn segments (to spot editing traces in every XMP packet and duplicate EXIF
blocks; XMP is bounded in count and size, `photo.bad_xmp` beyond) and where the
image really ends, so bytes appended after the end-of-image marker (polyglot files, MPO
extra frames) can be refused. Entropy-coded data cannot contain a marker other than RSTn
(0xFF is stuffed as FF 00), so the first other marker after a scan ends it.
"""

from __future__ import annotations

from typing import Final

import msgspec
import numpy as np

from photo_pipeline.errors import InvalidPhoto
from photo_pipeline.exif_structure import check_exif_block

__all__ = ["MAX_XMP_BYTES", "MAX_XMP_SEGMENTS", "JpegStructure", "walk_jpeg"]

_SOI: Final = 0xD8
_EOI: Final = 0xD9
_SOS: Final = 0xDA
# Entropy-coded data is searched for its ending marker in chunks of this size: vectorised
# (~1.6 ms for a 3 MB scan, a regex takes ~2.5 ms), with bounded scratch memory on hostile
# input (a chunk of only FF bytes holds 8 bytes of index per byte).
_SCAN_CHUNK: Final = 1 << 20
# Each progressive scan makes the decoder pass over the whole coefficient buffer again: a file
# of thousands of tiny scans costs minutes of CPU (the "progressive scan bomb"). Cameras write
# one scan, progressive encoders about ten; libjpeg-turbo's tools suggest a limit of 100.
MAX_SCANS: Final = 100
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_EXIF_ID: Final = b"Exif\x00\x00"
_XMP_ID: Final = b"http://ns.adobe.com/xap/1.0/\x00"
# Extended XMP (XMP spec part 3): the part of a packet that does not fit one APP1, in chunks of
# GUID (32) + full length (4) + offset (4) + data.
_XMP_EXTENSION_ID: Final = b"http://ns.adobe.com/xmp/extension/\x00"
_XMP_EXTENSION_HEADER: Final = 32 + 4 + 4
# Every XMP segment is searched for editing history, so their number and size are bounded: a
# camera writes one standard packet of a few KB (plus, rarely, a few extension chunks); hundreds
# of packets or megabytes of XMP are only a way to make the search expensive or to bury the
# history where a check that reads one packet does not look.
MAX_XMP_SEGMENTS: Final = 8
MAX_XMP_BYTES: Final = 256 * 1024


class JpegStructure(msgspec.Struct, frozen=True, kw_only=True):
    """The segments that matter for provenance, and where the image ends."""

    exif_segments: int
    # Every XMP packet in file order: the standard packets, then each Extended XMP packet
    # reassembled from its chunks (by GUID, in offset order).
    xmp_packets: tuple[bytes, ...]
    adobe_app14: bool
    end: int  # offset just after the EOI marker
    trailing: bytes  # everything after `end`
    scans: int  # start-of-scan segments: one per pass of a progressive file, at most MAX_SCANS


def walk_jpeg(data: bytes) -> JpegStructure:
    """Walk SOI .. EOI; raise InvalidPhoto if the structure is broken or the data stops early."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != _SOI:
        raise InvalidPhoto("photo.not_jpeg", "no JPEG start-of-image marker")
    pos = 2
    size = len(data)
    exif_segments = 0
    xmp = _XmpCollector()
    adobe = False
    scans = 0
    while True:
        if pos >= size:
            raise InvalidPhoto("photo.truncated", "the JPEG ends before its end-of-image marker")
        if data[pos] != 0xFF:
            raise InvalidPhoto("photo.undecodable", f"junk byte where a marker was expected at {pos}")
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            raise InvalidPhoto("photo.truncated", "the JPEG ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            return JpegStructure(
                exif_segments=exif_segments,
                xmp_packets=xmp.packets(),
                adobe_app14=adobe,
                end=pos,
                trailing=data[pos:],
                scans=scans,
            )
        if marker in _STANDALONE:
            continue
        if marker in (_SOI, 0x00):
            raise InvalidPhoto("photo.undecodable", f"unexpected marker 0x{marker:02X} at {pos - 1}")
        if pos + 2 > size:
            raise InvalidPhoto("photo.truncated", "the JPEG ends inside a segment header")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > size:
            raise InvalidPhoto("photo.truncated", f"segment 0x{marker:02X} runs past the end of the data")
        payload = data[pos + 2 : pos + length]
        if marker == 0xE1:
            if payload.startswith(_EXIF_ID):
                exif_segments += 1
                check_exif_block(payload)
            elif payload.startswith(_XMP_ID):
                xmp.add_standard(payload[len(_XMP_ID) :])
            elif payload.startswith(_XMP_EXTENSION_ID):
                xmp.add_extension(payload[len(_XMP_EXTENSION_ID) :])
        elif marker == 0xEE and payload.startswith(b"Adobe"):
            adobe = True
        pos += length
        if marker == _SOS:
            scans += 1
            if scans > MAX_SCANS:
                raise InvalidPhoto("photo.undecodable", f"more than {MAX_SCANS} scans")
            found = _marker_in_scan(data, pos)
            if found is None:
                raise InvalidPhoto("photo.truncated", "the JPEG ends inside its image data")
            pos = found


class _XmpCollector:
    """The XMP segments of one file, within MAX_XMP_SEGMENTS and MAX_XMP_BYTES."""

    def __init__(self) -> None:
        self._standard: list[bytes] = []
        self._chunks: dict[bytes, list[tuple[int, bytes]]] = {}
        self._segments = 0
        self._bytes = 0

    def add_standard(self, packet: bytes) -> None:
        self._count(packet)
        self._standard.append(packet)

    def add_extension(self, chunk: bytes) -> None:
        self._count(chunk)
        if len(chunk) < _XMP_EXTENSION_HEADER:
            raise InvalidPhoto("photo.bad_xmp", "Extended XMP chunk shorter than its header")
        guid = chunk[:32]
        offset = int.from_bytes(chunk[36:40], "big")
        self._chunks.setdefault(guid, []).append((offset, chunk[_XMP_EXTENSION_HEADER:]))

    def packets(self) -> tuple[bytes, ...]:
        # Chunks joined in offset order so that a mark split across two chunks is still whole.
        extended = [b"".join(data for _, data in sorted(chunks)) for chunks in self._chunks.values()]
        return (*self._standard, *extended)

    def _count(self, segment: bytes) -> None:
        self._segments += 1
        self._bytes += len(segment)
        if self._segments > MAX_XMP_SEGMENTS:
            raise InvalidPhoto("photo.bad_xmp", f"more than {MAX_XMP_SEGMENTS} XMP segments")
        if self._bytes > MAX_XMP_BYTES:
            raise InvalidPhoto("photo.bad_xmp", f"more than {MAX_XMP_BYTES} bytes of XMP")


def _marker_in_scan(data: bytes, pos: int) -> int | None:
    """Offset of the first FF followed by a byte that is not a stuffing zero, a restart marker
    (D0-D7) or another fill FF: where the entropy-coded data starting at `pos` ends."""
    view = np.frombuffer(data, dtype=np.uint8)
    for start in range(pos, view.size - 1, _SCAN_CHUNK):
        chunk = view[start : start + _SCAN_CHUNK + 1]  # one byte more: the follower of a last FF
        ff = np.flatnonzero(chunk[:-1] == 0xFF)
        follower = chunk[ff + 1]
        ends = ff[(follower != 0x00) & (follower != 0xFF) & ((follower < 0xD0) | (follower > 0xD7))]
        if ends.size:
            return start + int(ends[0])
    return None
