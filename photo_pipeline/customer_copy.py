"""The customer's copy of the photo: reduced, orientation applied, no metadata at all.

It is built from the decoded planes, never from the original bytes, so no EXIF field (GPS,
device, nonce) can survive. The luminance arrives already box-reduced (the checks use the same
frame); the chroma planes are box-reduced to 4:2:0 of that size and the three planes are
encoded as they are, with no colour conversion and no chroma resampling in the encoder.
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
from PIL import Image

from photo_pipeline import turbojpeg
from photo_pipeline.decode import Planes

__all__ = ["encode_customer_copy"]

_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES: Final = frozenset({5, 6, 7, 8})


def oriented(image: Image.Image, orientation: int) -> Image.Image:
    """`image` as it is meant to be shown, given its EXIF orientation (1-8; others mean 1)."""
    transpose = _TRANSPOSE.get(orientation)
    return image if transpose is None else image.transpose(transpose)


def encode_customer_copy(planes: Planes, shown_luma: Image.Image, orientation: int, quality: int) -> bytes:
    """JPEG of the frame: `shown_luma` is the reduced, oriented luminance; `planes` give the colour."""
    if planes.chroma is None:
        return _encode((shown_luma,), turbojpeg.SAMP_GRAY, quality)
    stored_w, stored_h = shown_luma.size[::-1] if orientation in _SWAPS_AXES else shown_luma.size
    half = (-(-stored_w // 2), -(-stored_h // 2))  # 4:2:0 chroma of the stored (unrotated) frame
    chroma = tuple(oriented(_fit(plane, half), orientation) for plane in planes.chroma)
    return _encode((shown_luma, *chroma), turbojpeg.SAMP_420, quality)


def _fit(plane: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Box-reduce a chroma plane to `size`: by whole factors where they fit, resampling the rest."""
    factor_x = max(1, round(plane.width / size[0]))
    factor_y = max(1, round(plane.height / size[1]))
    if factor_x > 1 or factor_y > 1:
        plane = plane.reduce((factor_x, factor_y))
    if plane.size != size:  # off by a pixel or two at odd sizes
        plane = plane.resize(size, Image.Resampling.BOX)
    return plane


def _encode(planes: tuple[Image.Image, ...], subsampling: int, quality: int) -> bytes:
    if turbojpeg.AVAILABLE:
        return turbojpeg.encode_planes([np.asarray(plane) for plane in planes], subsampling, quality)
    out = io.BytesIO()
    if len(planes) == 1:
        planes[0].save(out, "JPEG", quality=quality)
    else:
        luma = planes[0]
        chroma = [plane.resize(luma.size, Image.Resampling.NEAREST) for plane in planes[1:]]
        Image.merge("YCbCr", (luma, *chroma)).save(out, "JPEG", quality=quality, subsampling="4:2:0")
    return out.getvalue()
