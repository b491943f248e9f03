"""Heuristics for "this photo was edited or re-encoded after capture".

Each trace below is something the courier app's camera path never produces, and that common
editors (desktop and mobile) leave behind:

- EXIF Software naming an editor (Photoshop, Lightroom, GIMP, Snapseed, PicsArt, ...).
- XMP editing history or editor settings (xmpMM:History, stEvt:action, photoshop:, crs:),
  or an XMP CreatorTool naming an editor, in any XMP packet (standard or Extended XMP).
- An Adobe APP14 segment: written by Adobe's encoders and libraries, never by phone cameras.
- More than one EXIF APP1 segment: ambiguous metadata (Pillow would merge them).
- ModifyDate (0th-IFD DateTime) more than a minute away from DateTimeOriginal.
- PixelXDimension/PixelYDimension disagreeing with the real size: cropped or resized with
  the original EXIF carried over.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from photo_pipeline.jpeg_markers import JpegStructure
from photo_pipeline.metadata import ExifFacts

__all__ = ["EDITOR_NAMES", "edit_traces"]

EDITOR_NAMES: Final = (
    "photoshop",
    "lightroom",
    "adobe",
    "gimp",
    "snapseed",
    "picsart",
    "pixlr",
    "facetune",
    "vsco",
    "affinity",
    "paint.net",
    "canva",
    "fotor",
    "meitu",
    "airbrush",
    "picasa",
    "acdsee",
    "capture one",
    "darktable",
    "rawtherapee",
    "luminar",
    "pixelmator",
    "photoscape",
    "polarr",
    "lightx",
    "remini",
    "faceapp",
    "youcam",
    "imagemagick",
    "graphicsmagick",
    "photo editor",
    "photodirector",
    "inshot",
    "befunky",
    "photopea",
)
_XMP_EDIT_MARKS: Final = (b"xmpMM:History", b"stEvt:action", b"photoshop:", b"crs:", b"lr:")
_CREATOR_TOOL: Final = re.compile(rb'CreatorTool(?:="([^"]{0,200})"|>([^<]{0,200})<)')
_MODIFY_TOLERANCE: Final = timedelta(seconds=60)


def _names_editor(text: str) -> str | None:
    lowered = text.lower()
    for name in EDITOR_NAMES:
        if name in lowered:
            return name
    return None


def edit_traces(exif: ExifFacts, structure: JpegStructure, width: int, height: int) -> list[str]:
    """Human-readable traces of editing; empty when none were found."""
    traces: list[str] = []
    if exif.software is not None and _names_editor(exif.software) is not None:
        traces.append(f"EXIF Software names an editor ({exif.software!r})")
    # Every packet: a benign packet first must not hide the history in a later one.
    count = len(structure.xmp_packets)
    for number, packet in enumerate(structure.xmp_packets, start=1):
        where = "XMP" if count == 1 else f"XMP packet {number} of {count}"
        marks = [mark.decode() for mark in _XMP_EDIT_MARKS if mark in packet]
        if marks:
            traces.append(f"{where} carries editing history or editor settings ({', '.join(marks)})")
        tool = _CREATOR_TOOL.search(packet)
        if tool is not None:
            value = (tool.group(1) or tool.group(2) or b"").decode("utf-8", "replace")
            if (name := _names_editor(value)) is not None:
                traces.append(f"{where} CreatorTool names an editor ({name})")
    if structure.adobe_app14:
        traces.append("Adobe APP14 segment (written by Adobe encoders, never by phone cameras)")
    if structure.exif_segments > 1:
        traces.append(f"{structure.exif_segments} EXIF segments")
    if exif.local_time is not None and exif.modify_time is not None:
        gap = abs(exif.modify_time - exif.local_time)
        if gap > _MODIFY_TOLERANCE:
            traces.append(f"ModifyDate is {gap} away from DateTimeOriginal")
    stated = (exif.pixel_x, exif.pixel_y)
    if None not in stated and stated != (width, height):
        traces.append(f"EXIF says {exif.pixel_x}x{exif.pixel_y} but the image is {width}x{height}")
    return traces
