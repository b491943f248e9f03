"""The customer's copy of the photo: reduced, orientation applied, no metadata at all.

It is built from the decoded planes, never from the original bytes, so no EXIF field (GPS,
device, nonce) can survive. The luminance arrives already box-reduced (the checks use the same
frame); the chroma planes are box-reduced to 4:2:0 of that size and the three planes are
encoded as they are, with no colour conversion and no chroma resampling in the encoder. Each
plane is copied into a buffer of the padded size libjpeg-turbo reads (see `turbojpeg.py`).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from photo_pipeline import turbojpeg
from photo_pipeline.decode import Planes
from photo_pipeline.orientation import oriented, swaps_axes

__all__ = ["encode_customer_copy"]


def encode_customer_copy(planes: Planes, shown_luma: Image.Image, orientation: int, quality: int) -> bytes:
    """JPEG of the frame: `shown_luma` is the reduced, oriented luminance; `planes` give the colour."""
    if planes.chroma is None:
        return _encode((shown_luma,), turbojpeg.SAMP_GRAY, quality)
    stored_w, stored_h = shown_luma.size[::-1] if swaps_axes(orientation) else shown_luma.size
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
        width, height = planes[0].size
        # The library reads every plane at its padded size (4:2:0 luma of an odd-sized copy: one
        # more row and column), so each goes into a buffer of that size, edges repeated.
        geometry = turbojpeg.plane_geometry(width, height, subsampling)
        padded = [
            turbojpeg.padded_plane(np.asarray(p), size) for p, size in zip(planes, geometry, strict=True)
        ]
        return turbojpeg.encode_planes(padded, width, height, subsampling, quality)
    out = io.BytesIO()
    if len(planes) == 1:
        planes[0].save(out, "JPEG", quality=quality)
    else:
        luma = planes[0]
        chroma = [plane.resize(luma.size, Image.Resampling.NEAREST) for plane in planes[1:]]
        Image.merge("YCbCr", (luma, *chroma)).save(out, "JPEG", quality=quality, subsampling="4:2:0")
    return out.getvalue()
