"""Buffers whose last byte sits just before an unreadable page, and the native-call cases run on them.

A read or write one byte past such a buffer is a SIGSEGV at once, instead of silently touching
the heap. The cases run in a child process (`python -m tests.native_guard CASE ARGS...`) so a
crash fails the test with its signal rather than killing pytest. A case prints one JSON line
with what it observed and exits 0.

The plane geometry here is an independent restatement of libjpeg-turbo's turbojpeg.c
(tjPlaneWidth/tjPlaneHeight), not a call into the code under test.
"""

from __future__ import annotations

import ctypes
import functools
import io
import json
import math
import mmap
import sys
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PIL import Image

U8 = npt.NDArray[np.uint8]

# TJSAMP_* -> (MCU width, MCU height) in luma pixels / 8, as in turbojpeg.h's tjMCUWidth/Height.
MCU_STEPS = {0: (1, 1), 1: (2, 1), 2: (2, 2), 3: (1, 1), 4: (1, 2), 5: (4, 1)}
SUBSAMPLING_NAMES = {0: "444", 1: "422", 2: "420", 3: "gray", 4: "440", 5: "411"}
_PROT_NONE = 0
_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_LIBC.mprotect.restype = ctypes.c_int


def required_planes(width: int, height: int, subsampling: int) -> list[tuple[int, int]]:
    """(columns, rows) of each plane the library touches: luma padded to whole chroma samples."""
    step_x, step_y = MCU_STEPS[subsampling]
    luma = (-(-width // step_x) * step_x, -(-height // step_y) * step_y)
    if subsampling == 3:
        return [luma]
    chroma = (luma[0] // step_x, luma[1] // step_y)
    return [luma, chroma, chroma]


def guarded(rows: int, columns: int) -> U8:
    """A C-contiguous uint8 (rows, columns) array ending exactly at a PROT_NONE page."""
    page = mmap.PAGESIZE
    size = rows * columns
    data_pages = -(-size // page)
    total = (data_pages + 1) * page
    region = mmap.mmap(-1, total, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(region))
    if _LIBC.mprotect(address + data_pages * page, page, _PROT_NONE) != 0:
        raise OSError(ctypes.get_errno(), "mprotect failed")
    offset = data_pages * page - size
    plane: U8 = np.ndarray((rows, columns), dtype=np.uint8, buffer=region, offset=offset)
    return plane  # `plane.base` keeps the mapping alive


@functools.cache
def scene(width: int, height: int) -> tuple[U8, U8, U8]:
    """Smooth Y/Cb/Cr planes at full resolution: they survive JPEG with small errors."""
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    luma = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 53.0) + 30 * (x / width) - 15 * (y / height)
    cb = 128 + 40 * np.cos(x / 91.0) * np.cos(y / 67.0)
    cr = 128 + 40 * np.sin(y / 83.0) * np.cos(x / 71.0)
    planes = tuple(np.clip(p, 0, 255).astype(np.uint8) for p in (luma, cb, cr))
    for plane in planes:
        plane.flags.writeable = False
    return planes[0], planes[1], planes[2]


@functools.cache
def pillow_jpeg(width: int, height: int, subsampling: int) -> bytes:
    """The scene encoded by Pillow (4:4:4, 4:2:2, 4:2:0 or grayscale): not by the code under test."""
    luma, cb, cr = scene(width, height)
    out = io.BytesIO()
    if subsampling == 3:
        Image.fromarray(luma).save(out, "JPEG", quality=90)
    else:
        image = Image.merge("YCbCr", [Image.fromarray(p) for p in (luma, cb, cr)])
        image.save(out, "JPEG", quality=90, subsampling=subsampling)
    return out.getvalue()


def _reduced(plane: U8, columns: int, rows: int) -> U8:
    return np.asarray(Image.fromarray(plane).resize((columns, rows), Image.Resampling.BOX))


def _source_planes(width: int, height: int, subsampling: int) -> list[U8]:
    """Guard-page planes of exactly the required size holding the scene (edges repeated)."""
    full = scene(width, height)
    geometry = required_planes(width, height, subsampling)
    planes: list[U8] = []
    for index, (columns, rows) in enumerate(geometry):
        if index == 0:
            content = full[0]
        else:
            step_x, step_y = MCU_STEPS[subsampling]
            content = _reduced(full[index], -(-width // step_x), -(-height // step_y))
        plane = guarded(rows, columns)
        plane[: content.shape[0], : content.shape[1]] = content
        plane[: content.shape[0], content.shape[1] :] = content[:, -1:]
        plane[content.shape[0] :, :] = plane[content.shape[0] - 1 : content.shape[0], :]
        planes.append(plane)
    return planes


def encode_decode(width: int, height: int, subsampling: int) -> dict[str, object]:
    """Encode guard-page planes, then decode the JPEG into fresh guard-page planes."""
    from photo_pipeline import turbojpeg

    source = _source_planes(width, height, subsampling)
    data = turbojpeg.encode_planes(source, width, height, subsampling, 90)
    with Image.open(io.BytesIO(data)) as image:
        pillow_size = image.size
        pillow_luma = np.asarray(image.convert("YCbCr"))[..., 0] if image.mode != "L" else np.asarray(image)
    header = turbojpeg.decode_header(data)
    out = [guarded(rows, columns) for columns, rows in required_planes(width, height, subsampling)]
    turbojpeg.decode_planes(data, header, out)
    luma = out[0][:height, :width].astype(np.int16)
    return {
        "pillow_size": list(pillow_size),
        "subsampling": header.subsampling,
        "luma_error": float(np.abs(luma - source[0][:height, :width]).mean()),
        "luma_vs_pillow": float(np.abs(luma - pillow_luma).mean()),
        "last_row_vs_pillow": float(np.abs(luma[-1] - pillow_luma[-1]).mean()),
    }


def decode_foreign(width: int, height: int, subsampling: int) -> dict[str, object]:
    """Decode a Pillow-encoded JPEG into guard-page planes."""
    from photo_pipeline import turbojpeg

    data = pillow_jpeg(width, height, subsampling)
    header = turbojpeg.decode_header(data)
    planes = [guarded(rows, columns) for columns, rows in required_planes(width, height, subsampling)]
    turbojpeg.decode_planes(data, header, planes)
    with Image.open(io.BytesIO(data)) as image:
        reference = np.asarray(image.convert("YCbCr"))[..., 0] if image.mode != "L" else np.asarray(image)
    got = planes[0][:height, :width].astype(np.int16)
    return {"subsampling": header.subsampling, "luma_vs_pillow": float(np.abs(got - reference).mean())}


def too_small(
    operation: str, width: int, height: int, subsampling: int, plane_index: int
) -> dict[str, object]:
    """Hand the binding one plane a byte short of what the library touches (its rows one column
    short, so the last row ends a byte early at the guard page): a ValueError must come first."""
    from photo_pipeline import turbojpeg

    source = _source_planes(width, height, subsampling)
    geometry = required_planes(width, height, subsampling)
    columns, rows = geometry[plane_index]
    short = guarded(rows, columns - 1)
    short[:] = source[plane_index][:, : columns - 1]
    try:
        if operation == "encode":
            planes = list(source)
            planes[plane_index] = short
            turbojpeg.encode_planes(planes, width, height, subsampling, 90)
        else:
            data = pillow_jpeg(width, height, subsampling)
            planes = [guarded(r, c) for c, r in geometry]
            planes[plane_index] = short
            turbojpeg.decode_planes(data, turbojpeg.decode_header(data), planes)
    except ValueError as exc:
        return {"raised": type(exc).__name__, "message": str(exc)}
    return {"raised": None}


def production_decode(width: int, height: int, subsampling: int) -> dict[str, object]:
    """`decode.decode_planes` with its per-thread scratch buffer placed against a guard page."""
    from photo_pipeline import decode

    def guarded_scratch(size: int) -> U8:
        return guarded(1, size).reshape(size)

    decode._scratch = guarded_scratch  # the child process is ours alone
    data = pillow_jpeg(width, height, subsampling)
    planes = decode.decode_planes(data, width, height)
    with Image.open(io.BytesIO(data)) as image:
        reference = np.asarray(image.convert("YCbCr"))
    got_cb = None if planes.chroma is None else np.asarray(planes.chroma[0]).astype(np.int16)
    top_cb_error = None
    if got_cb is not None:
        # The first chroma rows are where a too-short luma plane spilled over.
        step_x, step_y = MCU_STEPS[subsampling]
        want_cb = reference[..., 1][::step_y, ::step_x]
        want_cb = want_cb[: got_cb.shape[0], : got_cb.shape[1]]
        top_cb_error = float(np.abs(got_cb[0] - want_cb[0]).mean())
    return {
        "luma_size": list(planes.luma.size),
        "luma_vs_pillow": float(np.abs(np.asarray(planes.luma).astype(np.int16) - reference[..., 0]).mean()),
        "top_cb_error": top_cb_error,
    }


def halved_decode(width: int, height: int, subsampling: int) -> dict[str, object]:
    """`decode.decode_planes(halved=True)` into a guard-page scratch buffer, against Pillow's own
    libjpeg decode at scale 1/2 (`draft`)."""
    from photo_pipeline import decode

    def guarded_scratch(size: int) -> U8:
        return guarded(1, size).reshape(size)

    decode._scratch = guarded_scratch  # the child process is ours alone
    data = pillow_jpeg(width, height, subsampling)
    planes = decode.decode_planes(data, width, height, halved=True)
    with Image.open(io.BytesIO(data)) as image:
        image.draft(image.mode, (width // 2, height // 2))  # Pillow picks scale = size // requested
        reference = np.asarray(image.convert("L"))
    got = np.asarray(planes.luma).astype(np.int16)
    return {
        "luma_size": list(planes.luma.size),
        "reference_size": [reference.shape[1], reference.shape[0]],
        "luma_vs_pillow": float(np.abs(got - reference).mean()) if got.shape == reference.shape else None,
        "chroma_sizes": None if planes.chroma is None else [list(p.size) for p in planes.chroma],
    }


def halved_declared_2x2(width: int, height: int) -> dict[str, object]:
    """A grayscale JPEG declaring 2x2 sampling, decoded at scale 1/2 into guard-page planes of
    exactly `decode_geometry(halved=True)`: the library must write no more than that."""
    from photo_pipeline import turbojpeg

    source = np.full((height, width), 128, dtype=np.uint8)
    data = turbojpeg.encode_planes(
        [turbojpeg.padded_plane(source, turbojpeg.PlaneSize(width, height))],
        width,
        height,
        turbojpeg.SAMP_GRAY,
        90,
    )
    factors_at = data.index(b"\xff\xc0") + 2 + 2 + 6 + 1  # marker, length, precision/size/count, id
    declared = data[:factors_at] + b"\x22" + data[factors_at + 1 :]
    header = turbojpeg.decode_header(declared)
    geometry = turbojpeg.decode_geometry(declared, header, halved=True)
    planes = [guarded(size.height, size.width) for size in geometry]
    turbojpeg.decode_planes(declared, header, planes, halved=True)
    half = turbojpeg.halved_size(width, height)
    return {
        "geometry": [[size.width, size.height] for size in geometry],
        "mean": float(planes[0][: half.height, : half.width].mean()),
    }


def dc_only_jpeg(width: int, height: int, factors: tuple[tuple[int, int], ...]) -> bytes:
    """A baseline JPEG of flat grey (every block DC 0, no AC) with the SOF sampling factors given.

    Written by hand, bit by bit, so that any factors libjpeg accepts can be tried (4:1:1,
    4:2:2 coded as 2x2 + 1x2, 4:4:4 coded as 1x3 everywhere...): encoders write only the standard
    ones. With one Huffman table for every component each block is the same six bits ("00" DC
    category 0, "1010" end of block), so only the number of blocks depends on the factors.
    """
    dc = bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]) + bytes(range(12))  # Annex K luma DC
    ac_bits = bytes([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D])
    ac_values = bytes(
        [0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06]
    )  # EOB (0x00) coded 1010
    ac_values += bytes(162 - len(ac_values))  # the rest of the table's symbols, never used
    count = len(factors)
    max_h, max_v = max(h for h, _ in factors), max(v for _, v in factors)
    if count == 1:  # a single component's scan is not interleaved: its own blocks, no MCU padding
        h, v = factors[0]
        columns, rows = math.ceil(width * h / max_h), math.ceil(height * v / max_v)
        blocks = math.ceil(columns / 8) * math.ceil(rows / 8)
    else:
        blocks = -(-width // (8 * max_h)) * -(-height // (8 * max_v)) * sum(h * v for h, v in factors)
    bits = "001010" * blocks
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)).replace(b"\xff", b"\xff\x00")

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    frame = bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big") + bytes([count])
    frame += b"".join(bytes([i + 1, (h << 4) | v, 0]) for i, (h, v) in enumerate(factors))
    return (
        b"\xff\xd8"
        + segment(0xDB, bytes(1) + bytes([1] * 64))
        + segment(0xC0, frame)
        + segment(0xC4, b"\x00" + dc)
        + segment(0xC4, b"\x10" + ac_bits + ac_values)
        + segment(0xDA, bytes([count]) + b"".join(bytes([i + 1, 0]) for i in range(count)) + b"\x00\x3f\x00")
        + scan
        + b"\xff\xd9"
    )


def halved_crafted_factors(factors: str, width: int, height: int) -> dict[str, object]:
    """`dc_only_jpeg` with `factors` ("2x2,1x2,1x2"), decoded at scale 1/2 and at full scale into
    guard-page planes of exactly `decode_geometry`, and by `decode.decode_planes(halved=True)`
    into a guard-page scratch buffer."""
    from photo_pipeline import decode, turbojpeg

    def guarded_scratch(size: int) -> U8:
        return guarded(1, size).reshape(size)

    decode._scratch = guarded_scratch  # the child process is ours alone
    parsed = tuple((int(h), int(v)) for h, v in (f.split("x") for f in factors.split(",")))
    data = dc_only_jpeg(width, height, parsed)
    header = turbojpeg.decode_header(data)
    means = []
    for halved in (True, False):
        geometry = turbojpeg.decode_geometry(data, header, halved=halved)
        planes = [guarded(size.height, size.width) for size in geometry]
        turbojpeg.decode_planes(data, header, planes, halved=halved)
        size = turbojpeg.halved_size(width, height) if halved else turbojpeg.PlaneSize(width, height)
        means.append(float(planes[0][: size.height, : size.width].mean()))
    luma = decode.decode_planes(data, width, height, halved=True).luma
    return {"subsampling": header.subsampling, "means": means, "luma_size": list(luma.size)}


def encode_suite(width: int, height: int) -> dict[str, object]:
    """Each subsampling through the binding both ways, every plane against a guard page."""
    return {SUBSAMPLING_NAMES[s]: encode_decode(width, height, s) for s in MCU_STEPS}


def decode_suite(width: int, height: int) -> dict[str, object]:
    """Pillow-encoded files through the binding and through `decode.decode_planes`."""
    return {
        "binding": {SUBSAMPLING_NAMES[s]: decode_foreign(width, height, s) for s in (0, 1, 2, 3)},
        "production": {SUBSAMPLING_NAMES[s]: production_decode(width, height, s) for s in (0, 1, 2, 3)},
    }


CASES: dict[str, Callable[..., dict[str, object]]] = {
    "encode_suite": encode_suite,
    "decode_suite": decode_suite,
    "encode_decode": encode_decode,
    "decode_foreign": decode_foreign,
    "too_small": too_small,
    "production_decode": production_decode,
    "halved_decode": halved_decode,
    "halved_declared_2x2": halved_declared_2x2,
    "halved_crafted_factors": halved_crafted_factors,
}


def main(argv: list[str]) -> None:
    name, *args = argv
    values = [int(a) if a.lstrip("-").isdigit() else a for a in args]
    print(json.dumps(CASES[name](*values)))


if __name__ == "__main__":
    main(sys.argv[1:])
