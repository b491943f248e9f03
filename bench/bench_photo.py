"""Benchmark: `photo_pipeline.verify` on 8-48 MP photos, against one full RGB decode of each.

Run with ``python -m bench.bench_photo``. Photos come from `tests.photo_factory`: three per phone
sensor size of `SENSORS` (8, 12, 16, 24 and 48 MP), with Code128 labels between 3% and 10% of
the frame. Per photo, single-threaded CPU time (`time.thread_time`, the best of `repeats` runs) of:

- verify: the real pipeline as the API calls it (the body's SHA-256 is handed in: the API has
  computed it for the signature, and the upload benchmark counts it), door fingerprint and
  customer copy included, split by stage through verify's `on_stage` hook (open, decode, reduce,
  label, metrics, copy, fingerprint, hashes, checks);
- one full RGB decode of the same photo by libjpeg-turbo (simplejpeg): the reference of issue #16,
  what touching every pixel of that photo costs on this machine at this moment;
- the floor: the same photo decoded at scale 1/8 (one value per 8x8 block, no inverse DCT worth
  the name), i.e. the entropy decoding that any decode of the file pays, however reduced;
- on the 12 MP photos only (they take seconds at 48 MP): verify with the fallback decoder (as on a
  machine without libturbojpeg) and the straightforward pipeline (Pillow full decode, zxing-cpp
  over the whole frame with all formats, LANCZOS resize).

Prints markdown tables (machine, date, per size and per stage, label recall) and returns rows.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from unittest import mock

import simplejpeg
import zxingcpp
from PIL import Image

from courier_api.components.photo_verifier import StageClock
from infra.devstack.doorstep_photo import default_expectations
from photo_pipeline import Expectations, PhotoLimits, Verdict, turbojpeg, verify
from tests.photo_factory import DEFAULT_LABEL_CODE, SENSORS, PhotoSpec, make_photo

PHOTOS_PER_SIZE = 3
STAGES = ("open", "decode", "reduce", "label", "metrics", "copy", "fingerprint", "hashes", "checks")
TARGET_RATIO = 1.0  # issue #16: verify median <= 1.0x one full RGB decode of the same photo


def straightforward(data: bytes, limits: PhotoLimits) -> str | None:
    """The naive pipeline: full decode, all-format full-frame barcode search, full LANCZOS resize."""
    image: Image.Image = Image.open(io.BytesIO(data))
    image.getexif()
    image = image.convert("RGB")
    codes = zxingcpp.read_barcodes(image)
    copy = image.copy()
    copy.thumbnail((limits.customer_copy_max_side, limits.customer_copy_max_side), Image.Resampling.LANCZOS)
    copy.save(io.BytesIO(), "JPEG", quality=85)
    return next((c.text for c in codes if c.text == DEFAULT_LABEL_CODE), None)


def _cpu(func: Callable[[], object]) -> tuple[float, object]:
    start = time.thread_time()
    result = func()
    return (time.thread_time() - start) * 1000.0, result


def _best(func: Callable[[], object], repeats: int) -> float:
    return min(_cpu(func)[0] for _ in range(repeats))


def _timed_verify(
    data: bytes, digest: str, expectations: Expectations, limits: PhotoLimits, repeats: int
) -> tuple[float, dict[str, float], Verdict]:
    """The fastest of `repeats` runs, with its stage split."""
    best: tuple[float, dict[str, float], Verdict] | None = None
    for _ in range(repeats):
        clock = StageClock()  # the server's own stage timing (its metrics)
        start = time.thread_time()
        verdict = verify(data, expectations, limits, sha256=digest, on_stage=clock)
        spent = (time.thread_time() - start) * 1000.0
        if best is None or spent < best[0]:
            best = (spent, {stage: seconds * 1000.0 for stage, seconds in clock.cpu.items()}, verdict)
    assert best is not None
    return best


def run(photos_per_size: int = PHOTOS_PER_SIZE, repeats: int = 3) -> list[dict[str, object]]:
    """Measure verify against one RGB decode on `photos_per_size` photos of every sensor size."""
    expectations = default_expectations()
    limits = PhotoLimits()
    rows: list[dict[str, object]] = []
    for width, height in SENSORS:
        for index in range(photos_per_size):
            share = 0.03 + 0.07 * index / max(1, photos_per_size - 1)
            angle = (-4.0, 3.0, 6.0, 0.0, -2.0)[index % 5]
            spec = PhotoSpec(seed=index % 2, label_share=share, angle=angle, width=width, height=height)
            data = make_photo(spec)
            digest = hashlib.sha256(data).hexdigest()
            verify(data, expectations, limits, sha256=digest)  # warm caches and buffers
            verify_ms, stages, verdict = _timed_verify(data, digest, expectations, limits, repeats)
            decode_ms = _best(functools.partial(simplejpeg.decode_jpeg, data, "RGB"), repeats)
            eighth = functools.partial(
                simplejpeg.decode_jpeg, data, "GRAY", min_width=-(-width // 8), min_height=-(-height // 8)
            )
            floor_ms = _best(eighth, repeats)
            row: dict[str, object] = {
                "megapixels": round(width * height / 1e6),
                "size": f"{width}x{height}",
                "share": round(share, 4),
                "bytes": len(data),
                "verify_ms": verify_ms,
                "decode_rgb_ms": decode_ms,
                "floor_ms": floor_ms,
                "stages": stages,
                "found": verdict.decoded_label == DEFAULT_LABEL_CODE,
                "accepted": verdict.accepted,
            }
            if (width, height) == (4000, 3000):
                with mock.patch.object(turbojpeg, "AVAILABLE", False):  # as without libturbojpeg
                    row["fallback_ms"] = _best(
                        functools.partial(verify, data, expectations, limits, sha256=digest), repeats
                    )
                naive_ms, naive_text = _cpu(functools.partial(straightforward, data, limits))
                row["straightforward_ms"] = naive_ms
                row["straightforward_found"] = naive_text == DEFAULT_LABEL_CODE
            rows.append(row)
    return rows


def _f(row: dict[str, object], key: str) -> float:
    return float(str(row[key]))


def _stage(row: dict[str, object], stage: str) -> float:
    stages = row["stages"]
    assert isinstance(stages, dict)
    return float(stages.get(stage, 0.0))


def summary(rows: list[dict[str, object]]) -> dict[str, float]:
    """Median verify ms, RGB decode ms and ratio over all rows (the figures `python -m bench` quotes)."""
    ratios = [_f(r, "verify_ms") / _f(r, "decode_rgb_ms") for r in rows]
    twelve = [r for r in rows if r["size"] == "4000x3000"]
    return {
        "ratio_median": statistics.median(ratios),
        "verify_ms_12mp": statistics.median(_f(r, "verify_ms") for r in twelve) if twelve else 0.0,
        "decode_rgb_ms_12mp": statistics.median(_f(r, "decode_rgb_ms") for r in twelve) if twelve else 0.0,
        "recall": sum(bool(r["found"]) for r in rows),
        "photos": len(rows),
    }


def _table(rows: list[dict[str, object]]) -> str:
    sums = summary(rows)
    lines = [
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (CPU times drift with other load); "
        f"decoder: {'libturbojpeg planes' if turbojpeg.AVAILABLE else 'simplejpeg fallback (libturbojpeg missing)'}",
        "",
        f"verify / one full RGB decode of the same photo, median over {len(rows)} photos of 8-48 MP: "
        f"**{sums['ratio_median']:.2f}x** (target <= {TARGET_RATIO:.1f}x); label read on "
        f"{int(sums['recall'])}/{len(rows)}",
        "",
        "| photo | verify ms | RGB decode ms | verify / decode | floor / decode | "
        + " | ".join(STAGES)
        + " | label read |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(STAGES) + ":-:|",
    ]
    sizes = list(dict.fromkeys(str(r["size"]) for r in rows))
    for size in sizes:
        group = [r for r in rows if r["size"] == size]
        verify_ms = statistics.median(_f(r, "verify_ms") for r in group)
        decode_ms = statistics.median(_f(r, "decode_rgb_ms") for r in group)
        stage_ms = [statistics.median(_stage(r, s) for r in group) for s in STAGES]
        lines.append(
            f"| {group[0]['megapixels']} MP ({size}), {len(group)} photos | {verify_ms:.1f} | {decode_ms:.1f} "
            f"| {statistics.median(_f(r, 'verify_ms') / _f(r, 'decode_rgb_ms') for r in group):.2f}x "
            f"| {statistics.median(_f(r, 'floor_ms') / _f(r, 'decode_rgb_ms') for r in group):.2f}x | "
            + " | ".join(f"{ms:.1f}" for ms in stage_ms)
            + f" | {sum(bool(r['found']) for r in group)}/{len(group)} |"
        )
    lines += [
        "",
        "floor: the entropy decoding alone (a 1/8-scale decode of the same photo), which any decode "
        "pays; what verify may spend beyond it within the target is (1 - floor) x the RGB decode.",
    ]
    twelve = [r for r in rows if "straightforward_ms" in r]
    if twelve:
        fast = statistics.median(_f(r, "verify_ms") for r in twelve)
        slow = statistics.median(_f(r, "straightforward_ms") for r in twelve)
        fallback = statistics.median(_f(r, "fallback_ms") for r in twelve)
        lines += [
            "",
            f"12 MP: straightforward pipeline {slow:.0f} ms ({slow / fast:.1f}x verify, label read on "
            f"{sum(bool(r['straightforward_found']) for r in twelve)}/{len(twelve)}); verify with the "
            f"fallback decoder (no libturbojpeg) {fallback:.0f} ms",
        ]
    return "\n".join(lines)


def main() -> None:
    """Run and print the tables."""
    print(_table(run()))


if __name__ == "__main__":
    main()
