"""Native calls get buffers sized for what libjpeg-turbo touches, checked before each call.

libjpeg-turbo reads (encode) and writes (decode) every plane at its padded size: a 4:2:0 luma
plane of an odd-sized image has one more row and column than the image. Every buffer here ends
exactly at an unreadable page, so one byte too far is a SIGSEGV; the cases run in a child process
(`tests/native_guard.py`) so that a crash fails the test with its signal.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from photo_pipeline import turbojpeg
from tests.native_guard import MCU_STEPS, required_planes

pytestmark = pytest.mark.skipif(not turbojpeg.AVAILABLE, reason="libturbojpeg is not installed")

_ROOT = Path(__file__).resolve().parents[3]
# Odd widths, odd heights, both; phone frames whose 1/3 customer copy is odd (4000x2252 -> 1334x751).
ODD_SIZES = [(1601, 1200), (1600, 1201), (851, 639), (2001, 1499), (4000, 2252), (4160, 3120), (1334, 751)]


def _run_guarded(*args: object) -> dict[str, object]:
    process = subprocess.run(
        [sys.executable, "-m", "tests.native_guard", *map(str, args)],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if process.returncode < 0:
        name = signal.Signals(-process.returncode).name
        pytest.fail(f"the native call crashed with {name} on a guard page: {args}\n{process.stderr[-2000:]}")
    assert process.returncode == 0, process.stderr[-2000:]
    result: dict[str, object] = json.loads(process.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize(("width", "height"), ODD_SIZES)
def test_odd_sizes_encode_within_their_buffers(width: int, height: int) -> None:
    suite = _run_guarded("encode_suite", width, height)
    for name, result in suite.items():
        assert isinstance(result, dict)
        assert result["pillow_size"] == [width, height], name
        assert result["luma_error"] < 2.0, (name, result)
        assert result["luma_vs_pillow"] < 1.5, (name, result)
        assert result["last_row_vs_pillow"] < 2.0, (name, result)


@pytest.mark.parametrize(("width", "height"), ODD_SIZES)
def test_odd_sizes_decode_within_their_buffers(width: int, height: int) -> None:
    suite = _run_guarded("decode_suite", width, height)
    binding, production = suite["binding"], suite["production"]
    assert isinstance(binding, dict)
    assert isinstance(production, dict)
    for name, result in binding.items():
        assert result["luma_vs_pillow"] < 1.5, (name, result)
    for name, result in production.items():
        assert result["luma_size"] == [width, height], name
        assert result["luma_vs_pillow"] < 1.5, (name, result)
        if result["top_cb_error"] is not None:  # no luma spilled into the first chroma rows
            assert result["top_cb_error"] < 3.0, (name, result)


@pytest.mark.parametrize(
    "subsampling", [turbojpeg.SAMP_420, turbojpeg.SAMP_422, turbojpeg.SAMP_444, turbojpeg.SAMP_GRAY]
)
@pytest.mark.parametrize(("width", "height"), ODD_SIZES[:4])
def test_half_scale_decode_stays_within_its_buffers(width: int, height: int, subsampling: int) -> None:
    result = _run_guarded("halved_decode", width, height, subsampling)
    half = [-(-width // 2), -(-height // 2)]
    assert result["luma_size"] == half
    assert result["reference_size"] == half  # Pillow's libjpeg at scale 1/2 agrees on the size
    assert result["luma_vs_pillow"] is not None
    assert float(str(result["luma_vs_pillow"])) < 1.5, result
    if subsampling != turbojpeg.SAMP_GRAY:
        step_x, step_y = MCU_STEPS[subsampling]
        assert result["chroma_sizes"] == [[-(-half[0] // step_x), -(-half[1] // step_y)]] * 2


@pytest.mark.parametrize(("width", "height"), [(7, 5), (9, 9), *ODD_SIZES[:4]])
def test_half_scale_decode_follows_the_files_own_sampling_factors(width: int, height: int) -> None:
    # A grayscale file declaring 2x2 sampling: the planes are sized as at full scale, padded to
    # whole 2x2 samples of the half-size image (libjpeg-turbo 2.1 writes no more than the unpadded
    # half there, so the size is on the safe side), and each ends at an unreadable page.
    result = _run_guarded("halved_declared_2x2", width, height)
    half_w, half_h = -(-width // 2), -(-height // 2)
    assert result["geometry"] == [[half_w + half_w % 2, half_h + half_h % 2]]
    assert abs(float(str(result["mean"])) - 128) < 2


@pytest.mark.parametrize("operation", ["encode", "decode"])
@pytest.mark.parametrize(
    ("subsampling", "plane_index"),
    [(turbojpeg.SAMP_420, 0), (turbojpeg.SAMP_420, 2), (turbojpeg.SAMP_422, 0), (turbojpeg.SAMP_GRAY, 0)],
)
def test_a_plane_one_byte_short_is_refused_before_the_call(
    operation: str, subsampling: int, plane_index: int
) -> None:
    result = _run_guarded("too_small", operation, 851, 639, subsampling, plane_index)
    assert result["raised"] == "ValueError", result


@pytest.mark.parametrize(("width", "height"), [*ODD_SIZES, (4000, 3000), (1, 1), (7, 5)])
@pytest.mark.parametrize("subsampling", sorted(MCU_STEPS))
def test_plane_geometry_is_turbojpegs(width: int, height: int, subsampling: int) -> None:
    got = [(size.width, size.height) for size in turbojpeg.plane_geometry(width, height, subsampling)]
    assert got == required_planes(width, height, subsampling)


def test_decode_geometry_follows_the_files_own_sampling_factors() -> None:
    # A grayscale JPEG may declare 2x2 sampling: the library then writes PAD(w, 2) x PAD(h, 2).
    data = turbojpeg.encode_planes(
        [turbojpeg.padded_plane(_flat(7, 5), turbojpeg.PlaneSize(7, 5))], 7, 5, turbojpeg.SAMP_GRAY, 90
    )
    sof = data.index(b"\xff\xc0")
    factors_at = sof + 2 + 2 + 6 + 1  # marker, length, precision/height/width/count, component id
    assert data[factors_at] == 0x11
    declared_2x2 = data[:factors_at] + b"\x22" + data[factors_at + 1 :]
    header = turbojpeg.decode_header(declared_2x2)
    assert header.subsampling == turbojpeg.SAMP_GRAY
    assert turbojpeg.decode_geometry(declared_2x2, header) == (turbojpeg.PlaneSize(8, 6),)
    with pytest.raises(ValueError, match="touches 8x6"):
        turbojpeg.decode_planes(declared_2x2, header, [_flat(7, 5)])


def test_a_header_that_disagrees_with_the_frame_is_refused() -> None:
    data = turbojpeg.encode_planes(
        [turbojpeg.padded_plane(_flat(8, 8), turbojpeg.PlaneSize(8, 8))], 8, 8, turbojpeg.SAMP_GRAY, 90
    )
    bigger = turbojpeg.Header(width=16, height=16, subsampling=turbojpeg.SAMP_GRAY, colorspace=2)
    with pytest.raises(turbojpeg.TurboJpegError, match="frame header says 8x8"):
        turbojpeg.decode_planes(data, bigger, [_flat(16, 16)])


def _flat(width: int, height: int) -> npt.NDArray[np.uint8]:
    return np.full((height, width), 128, dtype=np.uint8)


# Sampling factors libjpeg accepts under a subsampling TurboJPEG names, beyond what encoders write:
# 4:1:1 and 4:4:0 as standard, 4:2:2 and 4:4:0 coded on a 2x2 luma, 4:4:4 with every component
# 1x2, 2x1, 1x3 or 3x1 (a factor of 3 is where turbojpeg.c's PAD rounds oddly), grayscale 4x4.
CRAFTED_FACTORS = [
    "4x1,1x1,1x1",
    "1x2,1x1,1x1",
    "2x2,1x2,1x2",
    "2x2,2x1,2x1",
    "1x2,1x2,1x2",
    "2x1,2x1,2x1",
    "1x3,1x3,1x3",
    "3x1,3x1,3x1",
    "3x3",
    "4x4",
]


@pytest.mark.parametrize("factors", CRAFTED_FACTORS)
def test_half_scale_decode_of_unusual_sampling_factors_stays_within_its_buffers(factors: str) -> None:
    for width, height in [(7, 5), (33, 31), (1001, 751)]:
        result = _run_guarded("halved_crafted_factors", factors, width, height)
        assert result["means"] == [128.0, 128.0], (factors, width, height, result)
        assert result["luma_size"] == [-(-width // 2), -(-height // 2)]
