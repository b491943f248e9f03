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
    "SAMP_411",
    "SAMP_420",
    "SAMP_422",
    "SAMP_440",
    "SAMP_444",
    "SAMP_GRAY",
    "Frame",
    "Header",
    "PlaneSize",
    "TurboJpegError",
    "decode_geometry",
    "decode_header",
    "decode_planes",
    "encode_planes",
    "halved_size",
    "padded_plane",
    "plane_geometry",
    "read_frame",
    "sampled_geometry",
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
# The (horizontal, vertical) sampling factors of each component that the encoder writes for
# each TJSAMP_* value (turbojpeg.c setCompDefaults), and that most files of that subsampling have.
_STANDARD_FACTORS: Final[dict[int, tuple[tuple[int, int], ...]]] = {
    SAMP_444: ((1, 1), (1, 1), (1, 1)),
    SAMP_422: ((2, 1), (1, 1), (1, 1)),
    SAMP_420: ((2, 2), (1, 1), (1, 1)),
    SAMP_GRAY: ((1, 1),),
    SAMP_440: ((1, 2), (1, 1), (1, 1)),
    SAMP_411: ((4, 1), (1, 1), (1, 1)),
}
# Every subsampling the plane decoder handles (tjDecompressHeader3 reports -1 for others).
KNOWN_SUBSAMPLINGS: Final = frozenset(_STANDARD_FACTORS)
# Frame header markers (SOF0-3, 5-7, 9-11, 13-15); C4, C8 and CC are DHT, JPG and DAC.
_SOF_MARKERS: Final = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
)
_MAX_SIDE: Final = 65_535  # a JPEG dimension is 16 bits
_MAX_STRIDE: Final = 2**31 - 1  # strides go to C as int
_FLAG_STOPONWARNING: Final = 8192  # a warning (e.g. premature end of data) fails the call
_LIBRARY_NAMES: Final = ("libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.dylib", "turbojpeg.dll")

_PlanePointers = ctypes.POINTER(ctypes.c_ubyte) * 3
_Strides = ctypes.c_int * 3


class TurboJpegError(ValueError):
    """The library refused the data; the message is libjpeg's own."""


class PlaneSize(NamedTuple):
    """A plane as the library touches it: `height` rows of `width` bytes."""

    width: int
    height: int


class Frame(NamedTuple):
    """The frame header (SOFn): size and each component's (horizontal, vertical) sampling factors."""

    width: int
    height: int
    factors: tuple[tuple[int, int], ...]


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


def plane_geometry(width: int, height: int, subsampling: int) -> tuple[PlaneSize, ...]:
    """Size of every plane libjpeg-turbo touches for an image of this size and subsampling.

    tjPlaneWidth/tjPlaneHeight: what tjCompressFromYUVPlanes reads, and what
    tjDecompressToYUVPlanes writes for a file with the standard sampling factors. The luma plane
    is padded to whole chroma samples (4:2:0: PAD(width, 2) x PAD(height, 2)).
    """
    return sampled_geometry(width, height, _STANDARD_FACTORS[subsampling])


def sampled_geometry(width: int, height: int, factors: Sequence[tuple[int, int]]) -> tuple[PlaneSize, ...]:
    """Plane sizes for per-component (horizontal, vertical) sampling factors, as turbojpeg.c computes
    them: pw[i] = PAD(width, max_h) * h[i] / max_h, and likewise vertically."""
    if width < 1 or height < 1 or not factors or width > _MAX_SIDE or height > _MAX_SIDE:
        raise ValueError(f"impossible plane geometry {width}x{height}, {len(factors)} components")
    if any(not (1 <= h <= 4 and 1 <= v <= 4) for h, v in factors):
        raise ValueError(f"sampling factors out of range: {list(factors)}")
    max_h = max(h for h, _ in factors)
    max_v = max(v for _, v in factors)
    return tuple(
        PlaneSize(width=_pad(width, max_h) * h // max_h, height=_pad(height, max_v) * v // max_v)
        for h, v in factors
    )


def read_frame(data: bytes) -> Frame:
    """The first frame header (SOFn) of `data`, found by walking the markers as libjpeg does.

    Strict where libjpeg only warns (junk between segments): the decoder runs with
    TJFLAG_STOPONWARNING, so any file it accepts has its frame header where this walk finds it.
    """
    size = len(data)
    if size < 4 or data[0] != 0xFF or data[1] != 0xD8:
        raise TurboJpegError("not a JPEG (no start-of-image marker)")
    pos = 2
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise TurboJpegError(f"no marker where one was expected at {pos}")
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            raise TurboJpegError("the data ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if marker in (0xD8, 0xD9, 0xDA, 0x00):
            raise TurboJpegError(f"marker 0x{marker:02X} before the frame header")
        if pos + 2 > size:
            raise TurboJpegError("the data ends inside a segment header")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > size:
            raise TurboJpegError(f"segment 0x{marker:02X} runs past the end of the data")
        if marker in _SOF_MARKERS:
            return _parse_frame(data[pos + 2 : pos + length])
        pos += length


def halved_size(width: int, height: int) -> PlaneSize:
    """The image size libjpeg-turbo decodes to at scale 1/2 (TJSCALED: rounded up)."""
    return PlaneSize(width=(width + 1) // 2, height=(height + 1) // 2)


def decode_geometry(data: bytes, header: Header, *, halved: bool = False) -> tuple[PlaneSize, ...]:
    """What tjDecompressToYUVPlanes will write for `data`: its plane sizes at full scale, or at
    scale 1/2 when `halved`.

    Computed from the file's own sampling factors, not from the subsampling the header names:
    a grayscale JPEG may declare 2x2 sampling, a 4:2:2 one may be coded as 2x2 + 1x2, and the
    library then pads the planes to those factors. At scale 1/2 the same rule is applied to the
    half-size image: what the library writes there is at most that (guard-page tests, both).
    """
    frame = read_frame(data)
    if (frame.width, frame.height) != (header.width, header.height):
        raise TurboJpegError(
            f"frame header says {frame.width}x{frame.height}, decoder header {header.width}x{header.height}"
        )
    expected_components = 1 if header.subsampling == SAMP_GRAY else 3
    if header.subsampling not in KNOWN_SUBSAMPLINGS or len(frame.factors) != expected_components:
        raise TurboJpegError(f"{len(frame.factors)} components, subsampling {header.subsampling}")
    size = halved_size(frame.width, frame.height) if halved else PlaneSize(frame.width, frame.height)
    return sampled_geometry(size.width, size.height, frame.factors)


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


def decode_planes(data: bytes, header: Header, planes: Sequence[U8], *, halved: bool = False) -> None:
    """Decode at full scale (or 1/2, `halved`) into caller-owned planes (Y, then Cb and Cr unless
    grayscale).

    Each plane must hold at least the `decode_geometry` size (rows may be longer: the row stride
    is the array's); this is checked before the library runs, and a ValueError names the plane
    that is too small. The image is the top-left width x height (`halved_size` at 1/2) of the
    luma plane. At 1/2 the library's scaled inverse DCT makes each output pixel from the
    block's lower frequencies: the entropy decoding, most of the cost, is the same. A warning
    from libjpeg (truncated or corrupt entropy data) is an error here: evidence must decode
    completely.
    """
    required = decode_geometry(data, header, halved=halved)
    pointers, strides = _plane_arguments(planes, required, writable=True)
    size = halved_size(header.width, header.height) if halved else PlaneSize(header.width, header.height)
    lib = _lib()
    handle = lib.tjInitDecompress()
    try:
        # Asked for exactly the 1/2-scaled size, the library picks the scale 1/2 (the largest of
        # its scaling factors whose output fits), and writes what `decode_geometry` computed.
        status = lib.tjDecompressToYUVPlanes(
            handle, data, len(data), pointers, size.width, strides, size.height, _FLAG_STOPONWARNING
        )
        if status != 0:
            raise TurboJpegError(_error(lib, handle))
    finally:
        lib.tjDestroy(handle)


def encode_planes(planes: Sequence[U8], width: int, height: int, subsampling: int, quality: int) -> bytes:
    """A baseline JFIF JPEG (no EXIF) of a width x height image from its Y (and Cb, Cr) planes.

    The planes must hold at least the `plane_geometry` size: the library reads the padding
    (e.g. an even luma height for 4:2:0), so the caller fills it, by edge replication
    (`padded_plane`) for a clean encode. Checked before the library runs (ValueError).
    """
    if subsampling not in KNOWN_SUBSAMPLINGS:
        raise ValueError(f"unknown subsampling {subsampling}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality {quality} outside 1..100")
    pointers, strides = _plane_arguments(planes, plane_geometry(width, height, subsampling), writable=False)
    lib = _lib()
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


def padded_plane(plane: U8, size: PlaneSize) -> U8:
    """A fresh C-contiguous copy of `plane` grown to `size`, its last column and row repeated.

    Repeating the edge (rather than zeros) keeps the padding from bleeding into the edge
    blocks' DCT: the encoded image ends as cleanly as an unpadded one.
    """
    height, width = plane.shape
    if width > size.width or height > size.height:
        raise ValueError(f"a {width}x{height} plane does not fit {size.width}x{size.height}")
    out = np.empty((size.height, size.width), dtype=np.uint8)
    out[:height, :width] = plane
    if size.width > width:
        out[:height, width:] = plane[:, width - 1 : width]
    if size.height > height:
        out[height:, :] = out[height - 1 : height, :]
    return out


def _parse_frame(payload: bytes) -> Frame:
    if len(payload) < 6:
        raise TurboJpegError("frame header too short")
    height = int.from_bytes(payload[1:3], "big")
    width = int.from_bytes(payload[3:5], "big")
    count = payload[5]
    if count not in (1, 3) or len(payload) < 6 + 3 * count:
        raise TurboJpegError(f"frame header with {count} components")
    factors = tuple((payload[6 + 3 * i + 1] >> 4, payload[6 + 3 * i + 1] & 0x0F) for i in range(count))
    if width < 1 or height < 1 or any(not (1 <= h <= 4 and 1 <= v <= 4) for h, v in factors):
        raise TurboJpegError(f"impossible frame header: {width}x{height}, sampling {list(factors)}")
    return Frame(width=width, height=height, factors=factors)


def _pad(value: int, step: int) -> int:
    # turbojpeg.c's PAD macro, bit for bit: it is meant for powers of two, and for a sampling
    # factor of 3 it rounds differently; what matters is what the library computes.
    return (value + step - 1) & ~(step - 1)


def _plane_arguments(
    planes: Sequence[U8], required: tuple[PlaneSize, ...], *, writable: bool
) -> tuple[ctypes.Array[ctypes._Pointer[ctypes.c_ubyte]], ctypes.Array[ctypes.c_int]]:
    """Pointers and row strides for the library, after checking that each plane is at least as
    large as what the library will touch: `size.height` rows of `size.width` bytes, each row
    starting one stride after the previous one."""
    if len(planes) != len(required):
        raise ValueError(f"{len(planes)} planes given, the library uses {len(required)}")
    pointers = _PlanePointers()
    strides = _Strides()
    for index, (plane, size) in enumerate(zip(planes, required, strict=True)):
        if not isinstance(plane, np.ndarray) or plane.dtype != np.uint8 or plane.ndim != 2:
            raise ValueError(f"plane {index} must be a 2-D uint8 array")
        rows, columns = plane.shape
        row_stride = plane.strides[0]
        if plane.strides[1] != 1 or row_stride < columns or row_stride > _MAX_STRIDE:
            raise ValueError(
                f"plane {index} must have contiguous, non-overlapping rows (strides {plane.strides})"
            )
        if rows < size.height or columns < size.width:
            raise ValueError(
                f"plane {index} is {columns}x{rows}, the library touches {size.width}x{size.height}"
            )
        if writable and not plane.flags.writeable:
            raise ValueError(f"plane {index} is read-only")
        pointers[index] = plane.ctypes.data_as(ctypes.POINTER(ctypes.c_ubyte))
        strides[index] = row_stride
    if writable:
        for index, plane in enumerate(planes):
            # One plane's rows written over another's is how the colour stripe happened.
            if any(np.may_share_memory(plane, other) for other in planes[index + 1 :]):
                raise ValueError(f"plane {index} overlaps another plane")
    return pointers, strides


def _error(lib: ctypes.CDLL, handle: int | None) -> str:
    message: bytes | None = lib.tjGetErrorStr2(handle)
    return message.decode("utf-8", "replace") if message else "unknown TurboJPEG error"
