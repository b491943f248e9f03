"""EXIF orientation: how the stored pixels are turned to be shown upright."""

from __future__ import annotations

from typing import Final

from PIL import Image

__all__ = ["oriented", "swaps_axes"]

_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def oriented(image: Image.Image, orientation: int) -> Image.Image:
    """`image` as it is meant to be shown, given its EXIF orientation (1-8; others mean 1)."""
    transpose = _TRANSPOSE.get(orientation)
    return image if transpose is None else image.transpose(transpose)


def swaps_axes(orientation: int) -> bool:
    """Whether the shown image is the stored one turned by 90 degrees (width and height swap)."""
    return orientation in (5, 6, 7, 8)
