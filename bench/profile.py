"""Profile one HTTP scenario on a real `courier-api serve` with py-spy: `python -m bench.profile`.

Starts the throwaway stack and one server (`--workers`, `--env KEY=VALUE` for e.g. VERIFY_POOL),
loads it with `bench.loadgen` while `py-spy record` samples the server's whole process tree
(uvicorn, the verification pool), then prints the functions with the most samples: own time
(leaf) and inclusive time. py-spy must be installed (`pip install py-spy`); the raw collapsed
stacks are kept next to the stack's logs for a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.__main__ import http_repeat, loadgen
from bench.stack import BenchStack, tree_cpu_seconds
from bench.uploads import prepare_drops, render_uploads
from courier_api.auth import TokenService
from tests.factories import order_body


def _summarise(collapsed: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"samples: {total}", "", "own (leaf) samples:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive samples:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("scenario", choices=["health", "check", "uploads"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument(
        "--native", action="store_true", help="py-spy --native: C frames too (uvloop, asyncpg's protocol)"
    )
    parser.add_argument("--no-spy", action="store_true", help="measure CPU only, no sampling")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    stack = BenchStack()
    stack.extra_env = dict(item.split("=", 1) for item in args.env)
    try:
        settings = stack.start()
        tokens = TokenService(settings.jwt_secret)
        with stack.serve(args.workers) as (base_url, process):
            port = int(base_url.rsplit(":", 1)[1])
            job: dict[str, object]
            if args.scenario == "uploads":
                drops, keys = asyncio.run(prepare_drops(base_url, tokens, args.photos, 5_000))
                folder = Path(tempfile.mkdtemp(prefix="photos-", dir=stack.logs))
                uploads = render_uploads(drops, keys, tokens, folder, processes=os.cpu_count() or 1)
                job = {
                    "mode": "list",
                    "port": port,
                    "duration_s": 120,
                    "concurrency": 6,
                    "requests": [
                        {
                            "method": "POST",
                            "path": f"/v1/deliveries/{u.order_id}/photos",
                            "headers": u.headers,
                            "body_file": u.path,
                        }
                        for u in uploads
                    ],
                }
            elif args.scenario == "check":
                job = {
                    "method": "POST",
                    "path": "/v1/eligibility/check",
                    "headers": {
                        "Authorization": f"Bearer {tokens.mint(role='service', sub='bench-oms')}",
                        "Content-Type": "application/json",
                    },
                    "body": json.dumps({"order": order_body(customer_id="c", label_code="DDPROFILE001")}),
                }
            else:
                job = {"method": "GET", "path": "/health"}
            out = stack.logs / f"profile-{args.scenario}.collapsed"
            sampler = None
            if not args.no_spy:
                sampler = subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(process.pid),
                        "--subprocesses",
                        # py-spy reads C stacks only from a paused process: --native pauses it per sample.
                        *([] if args.native else ["--nonblocking"]),
                        "--format",
                        "raw",
                        "--rate",
                        str(args.rate),
                        "--output",
                        str(out),
                        *(["--native"] if args.native else []),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            try:
                if args.scenario == "uploads":
                    before = tree_cpu_seconds(process.pid)
                    result = loadgen(job)
                    cpu = tree_cpu_seconds(process.pid) - before
                    accepted = sum(1 for o in result["outcomes"] if o["verdict"] == "accepted")
                    print(
                        f"{accepted}/{len(result['outcomes'])} accepted in {result['elapsed_s']:.1f} s, "
                        f"server {cpu * 1000 / max(1, accepted):.0f} ms CPU/accepted"
                    )
                else:
                    figures = http_repeat(base_url, process.pid, job, args.seconds)
                    print(
                        f"{figures.rate:,.0f} req/s, p50 {figures.p50:.1f} ms, p99 {figures.p99:.1f} ms, "
                        f"server {figures.server_cpu_ms:.2f} ms CPU/req ({figures.ok}/{figures.total} ok)"
                    )
            finally:
                if sampler is not None:
                    sampler.send_signal(2)
                    sampler.wait(timeout=60)
            if sampler is not None and out.exists():
                print(_summarise(out, args.top))
                print(f"\ncollapsed stacks: {out}")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
