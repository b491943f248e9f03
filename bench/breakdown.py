"""Where the server's CPU goes: py-spy samples per thread, weighed by each thread's CPU time from /proc.

py-spy counts a thread as busy while it is runnable, so on a shared 2-core machine a thread that waits
for a core collects samples without spending CPU: raw sample shares overstate the threads that wait
most (the verification pool). Each thread's CPU (utime + stime of /proc/<pid>/task/<tid>) is measured
over the run instead and shared out among categories by that thread's own samples; CPU of threads
py-spy never saw (or that ended during the run) is reported as unattributed.

A stack's category is decided in this order:
1. work in `photo_pipeline` inside `verify()` is verify (the door fingerprint included); work in
   `photo_pipeline` or `use_cases/doorsteps.py` outside it is the door check (comparisons);
2. a leaf line that hashes (hashlib is C code, so the leaf is its Python caller) is hashing;
3. otherwise the innermost frame whose module a rule names decides (S3 client, PostgreSQL, ...).
"""

from __future__ import annotations

import collections
import json
import linecache
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.stack import tree_pids

CATEGORIES = (
    "verify",
    "door check",
    "HTTP, event loop (uvicorn, litestar, body, uvloop)",
    "hashing, signature",
    "S3 client (botocore, urllib3)",
    "PostgreSQL (asyncpg, repositories)",
    "logging",
    "thread hand-off",
    "other",
)
UNATTRIBUTED = "unattributed (threads not sampled)"

# Innermost matching frame decides; the first rule a frame's location matches is its category.
_MODULE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hashing, signature", ("hashlib.py", "cryptography/", "device_attestation/")),
    (
        "S3 client (botocore, urllib3)",
        ("botocore/", "boto3/", "s3transfer/", "urllib3/", "http/client.py", "email/", "infra/storage.py"),
    ),
    ("PostgreSQL (asyncpg, repositories)", ("asyncpg/", "infra/repositories/", "infra/database.py")),
    ("logging", ("logging/", "courier_api/logging_setup.py")),
    (
        "thread hand-off",
        ("concurrent/futures/", "asyncio/threads.py", "asyncio/futures.py", "threading.py", "queue.py"),
    ),
    (
        "HTTP, event loop (uvicorn, litestar, body, uvloop)",
        (
            "uvicorn/",
            "httptools/",
            "litestar/",
            "courier_api/request_body.py",
            "courier_api/metrics_http.py",
            # The leaf while uvloop's C code runs: socket reads (the body), asyncpg's protocol, and
            # also epoll waits and GIL waits, which py-spy cannot tell apart without --native.
            "asyncio/runners.py",
        ),
    ),
)
# Leaves where a thread blocks (for work, or for the S3 server's answer): py-spy samples a thread
# as busy whenever /proc says it is runnable, which it briefly is around each of these calls, so
# they collect samples out of proportion to the CPU they spend. A put's client CPU, timed on its
# own (`time.thread_time()` around `put_object` against the dev stack's S3), matched the S3 share
# only once these were left out.
_IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py:",  # the pool's queue.get: waiting for work
    "SocketIO.readinto (socket.py:",  # recv of the S3 answer
    "poll_wait_for_socket.<locals>.do_poll (urllib3/util/wait.py:",  # waiting for 100-continue
    "create_connection (urllib3/util/connection.py:73)",  # connect()
)
_HASHING_LINE = re.compile(r"hashlib|sha256\(|\.hexdigest\(|\.digest\(")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
_THREAD = re.compile(r"^thread \((?P<tid>\d+)\)(?:: (?P<name>.*))?")
ROLES = ("event loop", "verification pool", "helper threads (S3 puts, door comparisons)")


def _source_line(file: str, line: int) -> str:
    """The text of a sampled line; py-spy prints paths relative to sys.path entries."""
    roots = [Path.cwd(), *(Path(p) for p in sys.path if p)]
    for root in roots:
        candidate = root / file
        if candidate.is_file():
            return linecache.getline(str(candidate), line)
    return ""


def classify(frames: list[str]) -> str | None:
    """The category of one stack (outermost frame first), or None for a thread waiting for work."""
    if frames and frames[-1].startswith(_IDLE_LEAVES):
        return None
    locations = [
        (m.group("function"), m.group("file"), int(m.group("line"))) for f in frames if (m := _FRAME.match(f))
    ]
    if any(file.startswith("photo_pipeline/") or "/photo_pipeline/" in file for _, file, _ in locations):
        inside_verify = any(file.endswith("photo_pipeline/verify.py") for _, file, _ in locations)
        return "verify" if inside_verify else "door check"
    if locations:
        _, file, line = locations[-1]
        if _HASHING_LINE.search(_source_line(file, line)):
            return "hashing, signature"
    for _, file, _ in reversed(locations):
        if file.endswith("use_cases/doorsteps.py"):
            return "door check"
        for category, markers in _MODULE_RULES:
            if any(marker in file for marker in markers):
                return category
    return "other"


def thread_cpu_seconds(root: int) -> dict[int, float]:
    """CPU (user + system) of every live thread of a process tree, by thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in tree_pids(root):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


@dataclass
class Breakdown:
    """CPU seconds per category over a run, and how they were found."""

    seconds: dict[str, float]
    samples: int
    total_s: float
    # Exact CPU by kind of thread (no sampling involved): the event loop, the verification pool, the rest.
    roles: dict[str, float]

    def per_item_ms(self, items: int) -> dict[str, float]:
        return {name: value * 1000 / max(1, items) for name, value in self.seconds.items()}


def _role(name: str, counts: collections.Counter[str]) -> str:
    if counts["verify"] * 2 > sum(counts.values()):
        return ROLES[1]
    return ROLES[0] if name == "MainThread" else ROLES[2]


def weigh(collapsed_lines: Iterable[str], cpu_by_thread: dict[int, float], total_s: float) -> Breakdown:
    """Share each thread's CPU among the categories of its samples; the rest is unattributed."""
    per_thread: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    names: dict[int, str] = {}
    samples = 0
    for raw in collapsed_lines:
        stack, _, count_text = raw.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        # Process frames (one per level: `serve --workers 2` samples its workers as children) quote
        # the command line, which may itself hold a ";": the thread frame is the first that matches.
        frames = stack.split(";")
        thread = next((m for f in frames if (m := _THREAD.match(f))), None)
        category = classify(frames)
        if thread is None or category is None:
            continue
        tid = int(thread.group("tid"))
        names[tid] = thread.group("name") or ""
        per_thread[tid][category] += int(count_text)
        samples += int(count_text)
    seconds = dict.fromkeys(CATEGORIES, 0.0)
    roles = dict.fromkeys(ROLES, 0.0)
    attributed = 0.0
    for tid, counts in per_thread.items():
        cpu = cpu_by_thread.get(tid, 0.0)
        sampled = sum(counts.values())
        for category, count in counts.items():
            seconds[category] += cpu * count / sampled
        roles[_role(names[tid], counts)] += cpu
        attributed += cpu
    seconds[UNATTRIBUTED] = max(0.0, total_s - attributed)
    return Breakdown(seconds=seconds, samples=samples, total_s=total_s, roles=roles)


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter or on PATH, if installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Sampler:
    """`py-spy record` over a server's process tree, per thread, for as long as the `with` block runs."""

    def __init__(self, pid: int, out: Path, *, rate: int = 100) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self._process: subprocess.Popen[bytes] | None = None
        self.cpu_before: dict[int, float] = {}
        self.cpu_by_thread: dict[int, float] = {}

    def __enter__(self) -> Sampler:
        spy = py_spy()
        if spy is None:
            raise FileNotFoundError("py-spy")
        self.cpu_before = thread_cpu_seconds(self.pid)
        self._process = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(self.pid),
                "--subprocesses",
                "--threads",
                "--nonblocking",
                "--format",
                "raw",
                "--rate",
                str(self.rate),
                "--output",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        after = thread_cpu_seconds(self.pid)
        self.cpu_by_thread = {tid: cpu - self.cpu_before.get(tid, 0.0) for tid, cpu in after.items()}
        # Beside the stacks, for whoever reads them again (flame graph, another classification).
        self.out.with_suffix(".threads.json").write_text(json.dumps(self.cpu_by_thread))
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def breakdown(self, total_s: float) -> Breakdown | None:
        if not self.out.exists():
            return None
        with self.out.open() as lines:
            return weigh(lines, self.cpu_by_thread, total_s)
