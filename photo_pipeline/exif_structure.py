"""A bounded structural check of an EXIF (TIFF) block, before anything trusts its values.

Pillow reads crafted EXIF leniently: entry counts of 65,535, values at offsets far outside the
block, IFD pointers that loop. It warns and carries on, so such a block would pass for "no EXIF".
The camera app writes well-formed EXIF, so a block whose counts or offsets point outside itself is
refused as `photo.bad_exif`. Only the IFDs the pipeline reads are walked (0th, Exif, GPS, Interop,
1st); every step is bounded by the block's own length.
"""

from __future__ import annotations

from typing import Final, Literal

from photo_pipeline.errors import InvalidPhoto

__all__ = ["check_exif_block"]

_EXIF_ID: Final = b"Exif\x00\x00"
# Bytes per value of each TIFF field type (1 BYTE .. 13 IFD).
_TYPE_SIZES: Final = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_SUB_IFD_TAGS: Final = (0x8769, 0x8825, 0xA005)  # Exif, GPS, Interoperability
_MAX_ENTRIES: Final = 1000
_MAX_IFDS: Final = 8


def check_exif_block(payload: bytes) -> None:
    """Raise InvalidPhoto("photo.bad_exif") unless the APP1 EXIF payload is structurally sound."""
    tiff = payload[len(_EXIF_ID) :] if payload.startswith(_EXIF_ID) else b""
    if len(tiff) < 8 or tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        _refuse("no valid TIFF header")
    order: Literal["little", "big"] = "little" if tiff[:2] == b"II" else "big"

    def u16(at: int) -> int:
        return int.from_bytes(tiff[at : at + 2], order)

    def u32(at: int) -> int:
        return int.from_bytes(tiff[at : at + 4], order)

    pending = [u32(4)]
    seen: set[int] = set()
    while pending:
        offset = pending.pop()
        if offset == 0:
            continue
        if offset in seen:
            _refuse(f"IFD at {offset} is referenced twice (a loop)")
        if len(seen) >= _MAX_IFDS:
            _refuse("too many IFDs")
        seen.add(offset)
        if offset + 2 > len(tiff):
            _refuse(f"IFD offset {offset} is outside the block")
        count = u16(offset)
        end = offset + 2 + count * 12
        if count > _MAX_ENTRIES or end + 4 > len(tiff):
            _refuse(f"IFD at {offset} claims {count} entries")
        for entry in range(offset + 2, end, 12):
            tag, kind, values = u16(entry), u16(entry + 2), u32(entry + 4)
            width = _TYPE_SIZES.get(kind)
            if width is None:
                continue  # unknown types are skipped by readers, as TIFF allows
            size = width * values
            if size > 4 and u32(entry + 8) + size > len(tiff):
                _refuse(f"tag 0x{tag:04X} points outside the block")
            if tag in _SUB_IFD_TAGS and kind in (4, 13) and values == 1:
                pending.append(u32(entry + 8))
        if len(seen) == 1:  # IFD0 links to IFD1 (the thumbnail's); later links are not read
            pending.append(u32(end))


def _refuse(reason: str) -> None:
    raise InvalidPhoto("photo.bad_exif", f"EXIF structure is broken: {reason}")
