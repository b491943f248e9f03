"""The few TurboJPEG calls the pipeline needs: decode to Y/Cb/Cr planes, encode from planes.

Why planes: the luminance plane is what the label and the quality metrics are read from, and
the chroma planes of a phone JPEG are already a quarter size (4:2:0). Decoding to planes skips
the chroma upsampling and the colour conversion, and every later step then touches one byte per
pixel instead of four (the 3x box reduction of a 12 MP frame drops from ~15 ms to ~5 ms). The
customer copy is encoded from the reduced planes, so it needs no colour conversion either.

Why our own ctypes binding: it is five functions of the TurboJPEG C API (stable since
libjpeg-turbo 1.4, still exported by 3.x); the Python wrapper PyTurboJPEG 2.x refuses Debian
12's libturbojpeg 2.1, and neither it nor simplejpeg decodes into caller-owned plane buffers.
The library is the system's (Debian: libturbojpeg0). When it cannot be loaded, `AVAILABLE` is
False and the pipeline decodes with simplejpeg instead, slower but with the same results.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Sequence
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "AVAILABLE",
    "KNOWN_SUBSAMPLINGS",
    "SAMP_420",
    "SAMP_GRAY",
    "Header",
    "TurboJpegError",
    "chroma_size",
    "decode_header",
    "decode_planes",
    "encode_planes",
]

U8 = npt.NDArray[np.uint8]

SAMP_444: Final = 0
SAMP_422: Final = 1
SAMP_420: Final = 2
SAMP_GRAY: Final = 3
SAMP_440: Final = 4
SAMP_411: Final = 5
COLORSPACE_YCBCR: Final = 1
COLORSPACE_GRAY: Final = 2
# Chroma subsampling factors (horizontal, vertical) per TJSAMP_* value.
_CHROMA_STEP: Final = {
    SAMP_444: (1, 1),
    SAMP_422: (2, 1),
    SAMP_420: (2, 2),
    SAMP_440: (1, 2),
    SAMP_411: (4, 1),
}
# Every subsampling the plane decoder handles (tjDecompressHeader3 reports -1 for others).
KNOWN_SUBSAMPLINGS: Final = frozenset({*_CHROMA_STEP, SAMP_GRAY})
_FLAG_STOPONWARNING: Final = 8192  # a warning (e.g. premature end of data) fails the call
_LIBRARY_NAMES: Final = ("libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.dylib", "turbojpeg.dll")

_PlanePointers = ctypes.POINTER(ctypes.c_ubyte) * 3
_Strides = ctypes.c_int * 3


class TurboJpegError(ValueError):
    """The library refused the data; the message is libjpeg's own."""


class Header(NamedTuple):
    """What tjDecompressHeader3 reports."""

    width: int
    height: int
    subsampling: int
    colorspace: int


def _load() -> ctypes.CDLL | None:
    candidates = [*_LIBRARY_NAMES]
    found = ctypes.util.find_library("turbojpeg")
    if found:
        candidates.insert(0, found)
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, "tjDecompressToYUVPlanes") and hasattr(lib, "tjCompressFromYUVPlanes"):
            _declare(lib)
            return lib
    return None


def _declare(lib: ctypes.CDLL) -> None:
    c_int, c_ulong, c_void_p = ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p
    int_p = ctypes.POINTER(c_int)
    lib.tjInitDecompress.restype = c_void_p
    lib.tjInitDecompress.argtypes = []
    lib.tjInitCompress.restype = c_void_p
    lib.tjInitCompress.argtypes = []
    lib.tjDestroy.restype = c_int
    lib.tjDestroy.argtypes = [c_void_p]
    lib.tjGetErrorStr2.restype = ctypes.c_char_p
    lib.tjGetErrorStr2.argtypes = [c_void_p]
    lib.tjDecompressHeader3.restype = c_int
    lib.tjDecompressHeader3.argtypes = [c_void_p, ctypes.c_char_p, c_ulong, int_p, int_p, int_p, int_p]
    lib.tjDecompressToYUVPlanes.restype = c_int
    lib.tjDecompressToYUVPlanes.argtypes = [
        c_void_p,
        ctypes.c_char_p,
        c_ulong,
        _PlanePointers,
        c_int,
        _Strides,
        c_int,
        c_int,
    ]
    lib.tjCompressFromYUVPlanes.restype = c_int
    lib.tjCompressFromYUVPlanes.argtypes = [
        c_void_p, _PlanePointers, c_int, _Strides, c_int, c_int,
        ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)), ctypes.POINTER(c_ulong), c_int, c_int,
    ]  # fmt: skip
    lib.tjFree.restype = None
    lib.tjFree.argtypes = [ctypes.POINTER(ctypes.c_ubyte)]


_LIB: Final = _load()
AVAILABLE: Final = _LIB is not None


def _lib() -> ctypes.CDLL:
    if _LIB is None:
        raise RuntimeError("libturbojpeg is not installed (Debian: apt-get install libturbojpeg0)")
    return _LIB


def chroma_size(width: int, height: int, subsampling: int) -> tuple[int, int]:
    """Size of a Cb/Cr plane of a width x height image (tjPlaneWidth/tjPlaneHeight)."""
    step_x, step_y = _CHROMA_STEP[subsampling]
    return -(-width // step_x), -(-height // step_y)


def decode_header(data: bytes) -> Header:
    """Size, subsampling and colour space, without decoding the image."""
    lib = _lib()
    handle = lib.tjInitDecompress()
    try:
        values = [ctypes.c_int() for _ in range(4)]
        status = lib.tjDecompressHeader3(handle, data, len(data), *(ctypes.byref(v) for v in values))
        if status != 0:
            raise TurboJpegError(_error(lib, handle))
        return Header(*(v.value for v in values))
    finally:
        lib.tjDestroy(handle)


def decode_planes(data: bytes, header: Header, planes: Sequence[U8]) -> None:
    """Decode into caller-owned C-contiguous planes (Y, then Cb and Cr unless grayscale).

    The planes must have the sizes `chroma_size` gives. A warning from libjpeg (truncated or
    corrupt entropy data) is an error here: evidence must decode completely.
    """
    lib = _lib()
    pointers, strides = _plane_arguments(planes)
    handle = lib.tjInitDecompress()
    try:
        status = lib.tjDecompressToYUVPlanes(
            handle, data, len(data), pointers, header.width, strides, header.height, _FLAG_STOPONWARNING
        )
        if status != 0:
            raise TurboJpegError(_error(lib, handle))
    finally:
        lib.tjDestroy(handle)


def encode_planes(planes: Sequence[U8], subsampling: int, quality: int) -> bytes:
    """A baseline JFIF JPEG (no EXIF) from Y (and Cb, Cr) planes already at `subsampling` size."""
    lib = _lib()
    height, width = planes[0].shape
    pointers, strides = _plane_arguments(planes)
    handle = lib.tjInitCompress()
    output = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    try:
        status = lib.tjCompressFromYUVPlanes(
            handle, pointers, width, strides, height, subsampling,
            ctypes.byref(output), ctypes.byref(size), quality, 0,
        )  # fmt: skip
        if status != 0:
            raise TurboJpegError(_error(lib, handle))
        return ctypes.string_at(output, size.value)
    finally:
        if output:
            lib.tjFree(output)
        lib.tjDestroy(handle)


def _plane_arguments(
    planes: Sequence[U8],
) -> tuple[ctypes.Array[ctypes._Pointer[ctypes.c_ubyte]], ctypes.Array[ctypes.c_int]]:
    pointers = _PlanePointers()
    strides = _Strides()
    for index, plane in enumerate(planes):
        if plane.dtype != np.uint8 or plane.ndim != 2 or plane.strides[1] != 1:
            raise ValueError("planes must be 2-D uint8 arrays with contiguous rows")
        pointers[index] = plane.ctypes.data_as(ctypes.POINTER(ctypes.c_ubyte))
        strides[index] = plane.strides[0]
    return pointers, strides


def _error(lib: ctypes.CDLL, handle: int | None) -> str:
    message: bytes | None = lib.tjGetErrorStr2(handle)
    return message.decode("utf-8", "replace") if message else "unknown TurboJPEG error"
