"""Decoding the photo once, at full resolution, into a luminance plane and two chroma planes.

Everything the checks read is luminance: the label (read on full-resolution crops), the blur and
exposure metrics and the perceptual hashes. Colour is needed only for the customer copy. So the
JPEG is decoded straight to its own Y/Cb/Cr planes (TurboJPEG, see `turbojpeg.py`): no chroma
upsampling, no colour conversion, one byte per pixel for every later step.

Where libturbojpeg is missing, or the JPEG is not stored as YCbCr/grayscale with a standard
subsampling (rare: Adobe RGB-coded files), simplejpeg decodes to RGB and Pillow converts to
YCbCr at about the customer copy's size; the checks see the same luminance, ~30 ms slower.

Both decoders are strict: truncated or corrupt entropy data is an error, not a grey half-image.
The planes live in a per-thread buffer reused between photos (faulting in fresh memory for a
12 MP frame costs milliseconds); `Planes` is valid until the same thread decodes again.
"""

from __future__ import annotations

import threading
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt
import simplejpeg
from PIL import Image

from photo_pipeline import turbojpeg
from photo_pipeline.errors import InvalidPhoto

__all__ = ["Planes", "decode_planes"]

U8 = npt.NDArray[np.uint8]

# Decode buffers up to 16 MP are kept per thread and reused; larger photos are rare and
# get fresh memory, so a worker thread holds at most this much between photos.
SCRATCH_MAX_BYTES: Final = 16_000_000 * 4  # the fallback decodes RGBX
# The fallback keeps chroma at about the customer copy's size (the default 1600 px), not full size.
_FALLBACK_CHROMA_MAX_SIDE: Final = 1600
_SCRATCH: Final = threading.local()
_PLANAR_COLORSPACES: Final = (turbojpeg.COLORSPACE_YCBCR, turbojpeg.COLORSPACE_GRAY)


class Planes(msgspec.Struct, frozen=True, kw_only=True):
    """The decoded frame: full-resolution luminance, and chroma at its stored resolution."""

    luma: Image.Image  # mode "L", width x height
    chroma: tuple[Image.Image, Image.Image] | None  # (Cb, Cr) mode "L"; None for a grayscale JPEG


def decode_planes(data: bytes, width: int, height: int) -> Planes:
    """Decode `data`, whose header says width x height; raise InvalidPhoto if it does not decode."""
    if turbojpeg.AVAILABLE:
        try:
            header = turbojpeg.decode_header(data)
        except turbojpeg.TurboJpegError as exc:
            raise _invalid(str(exc)) from exc
        if (header.width, header.height) != (width, height):
            raise InvalidPhoto(
                "photo.undecodable",
                f"decoder sees {header.width}x{header.height}, header says {width}x{height}",
            )
        if header.colorspace in _PLANAR_COLORSPACES and header.subsampling in turbojpeg.KNOWN_SUBSAMPLINGS:
            return _decode_with_turbojpeg(data, header)
    return _decode_with_simplejpeg(data, width, height)


def _decode_with_turbojpeg(data: bytes, header: turbojpeg.Header) -> Planes:
    width, height = header.width, header.height
    gray = header.subsampling == turbojpeg.SAMP_GRAY
    chroma_w, chroma_h = (0, 0) if gray else turbojpeg.chroma_size(width, height, header.subsampling)
    buffer = _scratch(width * height + 2 * chroma_w * chroma_h)
    luma = buffer[: width * height].reshape(height, width)
    planes = [luma]
    if not gray:
        start = width * height
        for _ in range(2):
            planes.append(buffer[start : start + chroma_w * chroma_h].reshape(chroma_h, chroma_w))
            start += chroma_w * chroma_h
    try:
        turbojpeg.decode_planes(data, header, planes)
    except turbojpeg.TurboJpegError as exc:
        raise _invalid(str(exc)) from exc
    images = [_wrap(plane) for plane in planes]
    chroma = None if gray else (images[1], images[2])
    return Planes(luma=images[0], chroma=chroma)


def _decode_with_simplejpeg(data: bytes, width: int, height: int) -> Planes:
    buffer = _scratch(width * height * 4)
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace="RGBX", buffer=buffer, strict=True)
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    if pixels.shape != (height, width, 4):
        raise InvalidPhoto("photo.undecodable", f"decoded {pixels.shape}, header says {width}x{height}")
    rgb = Image.frombuffer("RGBX", (width, height), pixels, "raw", "RGBX", 0, 1)
    # Colour is only needed for the customer copy: convert a reduced frame, not 12 MP of it.
    factor = max(1, -(-max(width, height) // _FALLBACK_CHROMA_MAX_SIDE))
    _, cb, cr = (rgb.reduce(factor) if factor > 1 else rgb).convert("RGB").convert("YCbCr").split()
    return Planes(luma=rgb.convert("L"), chroma=(cb, cr))


def _invalid(message: str) -> InvalidPhoto:
    # libjpeg's wording for data that stops early; anything else is corrupt data.
    code = "photo.truncated" if "Premature end" in message else "photo.undecodable"
    return InvalidPhoto(code, message)


def _wrap(plane: U8) -> Image.Image:
    height, width = plane.shape
    return Image.frombuffer("L", (width, height), plane, "raw", "L", 0, 1)


def _scratch(size: int) -> U8:
    """This thread's reusable plane buffer, or fresh memory for a huge photo.

    The buffer is only written by `decode_planes` and read within one `verify` call, and
    `verify` runs one photo at a time per thread, so a per-thread buffer is never shared.
    """
    if size > SCRATCH_MAX_BYTES:
        return np.empty(size, dtype=np.uint8)
    buffer: U8 | None = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype=np.uint8)
        _SCRATCH.buffer = buffer
    return buffer
