"""Benchmark: honest door photos the label checks must never refuse, and the measured sheet share.

Run with ``python -m bench.bench_label_share [count]`` (default 300). The photos come from
`tests.photo_factory.honest_specs`: 8-48 MP, portrait and landscape, the phone's
auto-exposure, Code128/QR/DataMatrix labels covering 3-12% of the frame on light walls, white
doors and light parcels, on light grey and off-white paper, touching the frame's edge. Every one
is an honest photo: any refusal is a wrong one. Prints a markdown table: photos wrongly refused
(by check), codes decoded, and the measured share against the true one (median and worst
relative error over the photos whose code decodes, target within +-25%).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from infra.devstack.doorstep_photo import default_expectations
from photo_pipeline import PhotoLimits, verify
from tests.photo_factory import (
    DEFAULT_LABEL_CODE,
    honest_specs,
    make_photo,
    true_label_share,
)

N_PHOTOS = 300
TARGET_REL_ERROR = 0.25


def run(count: int = N_PHOTOS, *, verbose: bool = False) -> list[dict[str, object]]:
    """Verify `count` honest photos; one row per photo."""
    expectations = default_expectations()
    limits = PhotoLimits()
    rows: list[dict[str, object]] = []
    for spec in honest_specs(count):
        data = make_photo(spec)
        start = time.thread_time()
        verdict = verify(data, expectations, limits)
        ms = (time.thread_time() - start) * 1000.0
        true = true_label_share(spec)
        share = verdict.label_share
        row: dict[str, object] = {
            "size": f"{spec.width}x{spec.height}",
            "kind": spec.barcode,
            "scene": spec.scene,
            "paper": spec.paper_level,
            "edge": spec.label_center is not None and (0.0 in spec.label_center or 1.0 in spec.label_center),
            "true": true,
            "share": share,
            "decoded": verdict.decoded_label == DEFAULT_LABEL_CODE,
            "refused": [c.code for c in verdict.checks if not c.passed],
            "rel_error": None if share is None else share / true - 1.0,
            "estimated": any(c.code == "label.too_small" and "estimated" in c.detail for c in verdict.checks),
            "ms": ms,
        }
        rows.append(row)
        if verbose and (
            row["refused"] or share is None or abs(float(str(row["rel_error"]))) > TARGET_REL_ERROR
        ):
            print(
                spec.width,
                spec.height,
                spec.barcode,
                spec.scene,
                spec.paper_level,
                round(spec.angle, 1),
                spec.label_center,
                round(spec.exposure_mean or 0),
                spec.seed,
                round(true, 4),
                share and round(share, 4),
                row["estimated"],
                row["refused"],
                file=sys.stderr,
            )
    return rows


def _table(rows: list[dict[str, object]]) -> str:
    refused = [r for r in rows if r["refused"]]
    by_check = Counter(code for r in refused for code in r["refused"])  # type: ignore[attr-defined]
    decoded = [r for r in rows if r["decoded"]]
    errors = [abs(float(str(r["rel_error"]))) for r in decoded if r["rel_error"] is not None]
    unmeasured = sum(1 for r in decoded if r["rel_error"] is None)
    estimated = [r for r in decoded if r["estimated"]]
    measured_errors = [abs(float(str(r["rel_error"]))) for r in decoded if not r["estimated"]]
    estimated_errors = [abs(float(str(r["rel_error"]))) for r in estimated]
    within = sum(1 for e in errors if e <= TARGET_REL_ERROR)
    signed = [float(str(r["rel_error"])) for r in decoded if r["rel_error"] is not None]
    lines = [
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {len(rows)} honest photos from `honest_specs`",
        "",
        "| photos | wrongly refused | by check | code decoded | share within +-25% | median abs. error "
        "| worst error (signed) | measured / estimated | median verify ms |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        f"| {len(rows)} | {len(refused)} | {', '.join(f'{k} {v}' for k, v in sorted(by_check.items())) or '-'} "
        f"| {len(decoded)}/{len(rows)} | {within}/{len(decoded)}"
        f"{f' ({unmeasured} without a share)' if unmeasured else ''} "
        f"| {statistics.median(errors):.1%} | {max(signed, key=abs):+.1%} "
        f"| {len(decoded) - len(estimated)} / {len(estimated)} "
        f"| {statistics.median(float(str(r['ms'])) for r in rows):.0f} |",
        "",
        f"Sheet measured on {len(decoded) - len(estimated)} photos (median abs. error "
        f"{_median(measured_errors)}, worst {_worst(measured_errors)}); estimated from the code's size "
        f"on {len(estimated)} whose edges could not be told from the surroundings (median "
        f"{_median(estimated_errors)}, worst {_worst(estimated_errors)}).",
        "",
        "| case | photos | refused | median abs. error | worst error |",
        "|---|---:|---:|---:|---:|",
    ]
    groups: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        groups.setdefault(f"scene {r['scene']}", []).append(r)
        groups.setdefault(f"code {r['kind']}", []).append(r)
        if r["edge"]:
            groups.setdefault("sheet touches the frame's edge", []).append(r)
        if int(str(r["paper"])) < 215:
            groups.setdefault("grey paper (< 215 before exposure)", []).append(r)
        groups.setdefault(f"{r['size']}", []).append(r)
    for name, members in sorted(groups.items()):
        errs = [float(str(r["rel_error"])) for r in members if r["decoded"] and r["rel_error"] is not None]
        lines.append(
            f"| {name} | {len(members)} | {sum(1 for r in members if r['refused'])} "
            f"| {statistics.median(abs(e) for e in errs):.1%} | {max(errs, key=abs):+.1%} |"
            if errs
            else f"| {name} | {len(members)} | {sum(1 for r in members if r['refused'])} | - | - |"
        )
    return "\n".join(lines)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1%}" if values else "-"


def _worst(values: list[float]) -> str:
    return f"{max(values):.1%}" if values else "-"


def main() -> None:
    """Run and print the table."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else N_PHOTOS
    print(_table(run(count, verbose="-v" in sys.argv)))


if __name__ == "__main__":
    main()
