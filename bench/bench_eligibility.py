"""Door-drop decisions per second on one core, against msgspec decoding the same order.

Run: `python -m bench.bench_eligibility`. `run()` returns the rows for a combined runner.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import msgspec

from eligibility import ItemFacts, OrderFacts, decide, evaluate, rollout_timeline

ROUNDS = 5
ROUND_SECONDS = 0.2
START = date(2025, 3, 3)


def _order(*, refused: bool) -> OrderFacts:
    def line(sku: str, category: str, price: int, dims: tuple[int, int, int], weight: int) -> ItemFacts:
        return ItemFacts(
            sku=sku,
            category=category,
            attributes=("fragile",) if category == "kitchen" else (),
            unit_price_kopecks=price,
            quantity=2 if category == "books" else 1,
            dimensions_mm=dims,
            weight_g=weight,
        )

    items = (
        line("BOOK-0001", "books", 89_000, (240, 170, 30), 450),
        line("TOY-0002", "toys", 249_000, (450, 300, 150), 1_200),
        line("KETTLE-0003", "kitchen", 359_000, (260, 220, 180), 1_400),
        line("TSHIRT-0004", "clothes", 129_000, (300, 250, 20), 200),
        line("WINE-0005", "alcohol", 99_000, (330, 90, 90), 1_300)
        if refused
        else line("LAMP-0005", "home", 199_000, (420, 200, 200), 900),
    )
    return OrderFacts(delivery_method="courier", payment="prepaid", city="KZN", items=items)


def _seconds_per_call(call: Callable[[], object]) -> float:
    """Best of ROUNDS rounds, each sized to take about ROUND_SECONDS."""
    iterations = 1_000
    while True:
        started = time.perf_counter()
        for _ in range(iterations):
            call()
        elapsed = time.perf_counter() - started
        if elapsed >= ROUND_SECONDS / 4:
            break
        iterations *= 4
    iterations = max(1, int(iterations * ROUND_SECONDS / elapsed))
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(iterations):
            call()
        best = min(best, (time.perf_counter() - started) / iterations)
    return best


def _pinned_to_one_core() -> tuple[set[int] | None, str]:
    if not hasattr(os, "sched_setaffinity"):
        return None, "not pinned"
    previous = os.sched_getaffinity(0)
    core = min(previous)
    os.sched_setaffinity(0, {core})
    return previous, f"pinned to CPU {core}"


def run() -> list[dict[str, object]]:
    """Measure and return one row per case, each carrying the machine it ran on."""
    versions = rollout_timeline(START)
    latest = versions[-1]
    at = datetime.combine(START, datetime.min.time(), tzinfo=UTC) + timedelta(days=200)
    eligible = _order(refused=False)
    refused = _order(refused=True)
    assert evaluate(eligible, latest, at).eligible
    assert not evaluate(refused, latest, at).eligible
    wire = msgspec.json.encode(eligible)
    decoder = msgspec.json.Decoder(OrderFacts)

    previous, pinning = _pinned_to_one_core()
    try:
        baseline = _seconds_per_call(lambda: decoder.decode(wire))
        cases: list[tuple[str, float]] = [
            ("baseline: msgspec decode of the 5-item order JSON", baseline),
            ("evaluate, 5-item order, eligible", _seconds_per_call(lambda: evaluate(eligible, latest, at))),
            (
                "evaluate, 5-item order, refused (1 reason)",
                _seconds_per_call(lambda: evaluate(refused, latest, at)),
            ),
            (
                "decide over 5 versions, 5-item order, eligible",
                _seconds_per_call(lambda: decide(eligible, versions, at)),
            ),
        ]
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)

    machine = {
        "machine": f"{platform.system()} {platform.machine()}, {platform.processor() or 'cpu n/a'}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pinning": pinning,
        "date": datetime.now(UTC).date().isoformat(),
    }
    return [
        {
            "case": name,
            "per_second": round(1 / seconds),
            "microseconds": round(seconds * 1e6, 3),
            "vs_baseline": round(seconds / baseline, 2),
            **machine,
        }
        for name, seconds in cases
    ]


def main() -> None:
    rows = run()
    first = rows[0]
    print(
        f"Eligibility on {first['machine']}, {first['cpus']} CPUs, Python {first['python']}, "
        f"{first['pinning']}, {first['date']} (best of {ROUNDS} rounds)\n"
    )
    print("| case | per second | µs per call | × baseline |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['case']} | {row['per_second']:,} | {row['microseconds']} | {row['vs_baseline']} |")


if __name__ == "__main__":
    main()
