"""Perceptual hashing for duplicate-photo detection across orders.

Two hashes of the same oriented luminance image:
- a 64-bit 8x8 difference hash, coarse: cheap to index (see the band columns in PostgreSQL) and
  stable under re-encoding, resizing and exposure changes, but different doorsteps with a similar
  layout (wall, door, floor) can land within a few bits of each other;
- a 256-bit 16x16 difference hash, detailed: different scenes measured 73+ bits apart on the
  generator's doorsteps while a re-encoded copy stayed within 3 and a brighter one within 5.
A duplicate is a coarse-hash candidate confirmed by the detailed hash.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["DETAIL_DUPLICATE_MAX_BITS", "detail_hash", "dhash", "hamming", "hamming_bytes"]

# Hamming distance (of 256 bits) at or under which two detailed hashes show the same picture.
DETAIL_DUPLICATE_MAX_BITS = 24


def _difference_bits(image: Image.Image, size: int) -> npt.NDArray[np.bool_]:
    small = image.convert("L").resize((size + 1, size), Image.Resampling.BOX)
    px = np.asarray(small, dtype=np.int16)
    return (px[:, 1:] > px[:, :-1]).flatten()


def dhash(image: Image.Image) -> int:
    """64-bit difference hash: is each of 8x8 cells brighter than its right neighbour."""
    value = 0
    for bit in _difference_bits(image, 8):
        value = (value << 1) | int(bit)
    return value


def detail_hash(image: Image.Image) -> bytes:
    """256-bit difference hash over 16x16 cells, as 32 bytes."""
    return np.packbits(_difference_bits(image, 16)).tobytes()


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return (a ^ b).bit_count()


def hamming_bytes(a: bytes, b: bytes) -> int:
    """Number of differing bits between two equally long byte strings (len(a) * 8 bits compared)."""
    if len(a) != len(b):
        return len(a) * 8
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
