"""Barcode reading restricted to the label symbologies we print: Code128, QR and DataMatrix.

Restricting zxing-cpp's formats is both faster (~8x) and safer: the retail and
industrial 1D symbologies are the ones that produce false positives on striped textures.
"""

from __future__ import annotations

from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt
import zxingcpp
from PIL import Image

__all__ = ["LABEL_FORMATS", "DecodedCode", "read_codes"]

LABEL_FORMATS: Final = zxingcpp.barcode_formats_from_str("Code128,QRCode,DataMatrix")


class DecodedCode(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded barcode, its symbology and its corner points in the searched image."""

    text: str
    format: str
    corners: tuple[tuple[int, int], ...]

    @property
    def center(self) -> tuple[float, float]:
        """Mean of the corner points."""
        xs = [x for x, _ in self.corners]
        ys = [y for _, y in self.corners]
        return sum(xs) / len(xs), sum(ys) / len(ys)


def read_codes(image: Image.Image | npt.NDArray[np.uint8], *, thorough: bool = True) -> list[DecodedCode]:
    """Decode every label barcode in a greyscale (or RGB) image.

    `thorough=False` reads only codes at their given scale, not rotated by 90 degrees and
    dark-on-light: 3-4x faster, enough for a label framed by the app's overlay.
    """
    if isinstance(image, Image.Image) and image.mode not in ("L", "RGB"):
        image = image.convert("L")
    results = zxingcpp.read_barcodes(
        image,
        formats=LABEL_FORMATS,
        try_rotate=thorough,
        try_downscale=thorough,
        try_invert=thorough,
    )
    codes: list[DecodedCode] = []
    for result in results:
        if not result.valid:
            continue
        pos = result.position
        corners = tuple(
            (int(p.x), int(p.y)) for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
        )
        codes.append(DecodedCode(text=str(result.text), format=str(result.format), corners=corners))
    return codes
