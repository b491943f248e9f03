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
12 MP frame costs milliseconds); `Planes` is valid until the same thread decodes again. The
buffer holds each plane at the padded size libjpeg-turbo writes (an odd-sized 4:2:0 photo has a
luma plane one row and one column larger than the image); the images handed on are views of the
image area only.
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


def decode_planes(
    data: bytes, width: int, height: int, *, halved: bool = False, fresh: bool = False
) -> Planes:
    """Decode `data`, whose header says width x height; raise InvalidPhoto if it does not decode.

    `halved`: at scale 1/2 (`turbojpeg.halved_size`), by the library's scaled inverse DCT, or by
    a 2x2 box after the fallback decoder. `fresh`: into new memory rather than this thread's
    scratch buffer, so that planes already handed out stay valid.
    """
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
            return _decode_with_turbojpeg(data, header, halved=halved, fresh=fresh)
    return _decode_with_simplejpeg(data, width, height, halved=halved, fresh=fresh)


def _decode_with_turbojpeg(data: bytes, header: turbojpeg.Header, *, halved: bool, fresh: bool) -> Planes:
    if halved:
        width, height = turbojpeg.halved_size(header.width, header.height)
    else:
        width, height = header.width, header.height
    try:
        # Every plane as the library writes it: padded to whole chroma samples (a 4:2:0 luma
        # plane of an odd-sized photo has one more row and column than the image).
        written = turbojpeg.decode_geometry(data, header, halved=halved)
    except turbojpeg.TurboJpegError as exc:
        raise _invalid(str(exc)) from exc
    # What the checks and the customer copy see: the image itself, chroma at its standard size.
    shown = turbojpeg.plane_geometry(width, height, header.subsampling)
    if any(s.width > w.width or s.height > w.height for s, w in zip(shown, written, strict=True)):
        # Sampling factors libjpeg accepts but that leave a plane short of the image (luma not
        # the most sampled component): no phone writes these; the RGB path handles them.
        return _decode_with_simplejpeg(data, header.width, header.height, halved=halved, fresh=fresh)
    total = sum(size.width * size.height for size in written)
    buffer = np.empty(total, dtype=np.uint8) if fresh else _scratch(total)
    planes: list[U8] = []
    start = 0
    for size in written:
        planes.append(buffer[start : start + size.width * size.height].reshape(size.height, size.width))
        start += size.width * size.height
    try:
        turbojpeg.decode_planes(data, header, planes, halved=halved)
    except turbojpeg.TurboJpegError as exc:
        raise _invalid(str(exc)) from exc
    views = (turbojpeg.PlaneSize(width, height), *shown[1:])
    images = [_wrap(plane, size) for plane, size in zip(planes, views, strict=True)]
    chroma = None if len(images) == 1 else (images[1], images[2])
    return Planes(luma=images[0], chroma=chroma)


def _decode_with_simplejpeg(data: bytes, width: int, height: int, *, halved: bool, fresh: bool) -> Planes:
    buffer = np.empty(width * height * 4, dtype=np.uint8) if fresh else _scratch(width * height * 4)
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace="RGBX", buffer=buffer, strict=True)
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    if pixels.shape != (height, width, 4):
        raise InvalidPhoto("photo.undecodable", f"decoded {pixels.shape}, header says {width}x{height}")
    rgb = Image.frombuffer("RGBX", (width, height), pixels, "raw", "RGBX", 0, 1)
    if halved:  # a 2x2 box: the same size as libjpeg-turbo's 1/2 scale (an odd edge kept)
        rgb = rgb.reduce(2)
        width, height = rgb.size
    # Colour is only needed for the customer copy: convert a reduced frame, not 12 MP of it.
    factor = max(1, -(-max(width, height) // _FALLBACK_CHROMA_MAX_SIDE))
    _, cb, cr = (rgb.reduce(factor) if factor > 1 else rgb).convert("RGB").convert("YCbCr").split()
    return Planes(luma=rgb.convert("L"), chroma=(cb, cr))


def _invalid(message: str) -> InvalidPhoto:
    # libjpeg's wording for data that stops early; anything else is corrupt data.
    code = "photo.truncated" if "Premature end" in message else "photo.undecodable"
    return InvalidPhoto(code, message)


def _wrap(plane: U8, size: turbojpeg.PlaneSize) -> Image.Image:
    """The top-left `size` of a padded, C-contiguous plane, without copying it."""
    return Image.frombuffer("L", (size.width, size.height), plane, "raw", "L", plane.shape[1], 1)


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
