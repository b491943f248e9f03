"""A small HTTP/1.1 load generator, run as its own process: `python -m bench.loadgen < job.json`.

Raw asyncio streams (uvloop when installed) with keep-alive connections and requests encoded once,
so the client's own cost per request stays small and is reported (`cpu_s`) next to the server's.
The job (JSON on stdin) picks one of three modes; the answer is JSON on stdout:

- ``repeat``: `concurrency` connections send the same request until `duration_s` passes (after
  `warmup_s` that is not recorded) or `max_requests` were sent;
- ``list``: `concurrency` connections work through distinct requests (bodies read from files
  before timing starts) until the list or `duration_s` runs out;
- ``probe``: one connection sends the request every `interval_s` for `duration_s`.

Each request's status and latency are returned; in ``list`` mode also the `verdict` of the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

import msgspec


class Request(msgspec.Struct, frozen=True):
    method: str
    path: str
    headers: dict[str, str] = {}
    body: str | None = None  # UTF-8 text body
    body_file: str | None = None  # raw bytes read from this file before timing


class Job(msgspec.Struct, frozen=True):
    mode: str
    port: int
    host: str = "127.0.0.1"
    duration_s: float = 5.0
    warmup_s: float = 0.0
    concurrency: int = 1
    max_requests: int = 1_000_000
    interval_s: float = 0.05
    request: Request | None = None
    requests: list[Request] = []


class Outcome(msgspec.Struct):
    status: int
    latency_ms: float
    started: float
    verdict: str | None = None


def encode(request: Request, host: str, port: int) -> bytes:
    body = b""
    if request.body_file is not None:
        body = Path(request.body_file).read_bytes()
    elif request.body is not None:
        body = request.body.encode()
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        self._writer.write(raw)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self._reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return int(status_line.split(" ", 2)[1]), body

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


Measured = tuple[list["Outcome"], float, float]  # outcomes, wall seconds, client CPU seconds


def _verdict(body: bytes) -> str | None:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    value = decoded.get("verdict") if isinstance(decoded, dict) else None
    return str(value) if value is not None else None


async def _send(connection: Connection, raw: bytes, *, want_verdict: bool) -> Outcome:
    started = time.perf_counter()
    try:
        status, body = await connection.exchange(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        await connection.close()
        status, body = 0, b""
    latency = (time.perf_counter() - started) * 1000.0
    return Outcome(
        status=status,
        latency_ms=latency,
        started=started,
        verdict=_verdict(body) if want_verdict and status else None,
    )


async def _repeat(job: Job) -> Measured:
    assert job.request is not None
    raw = encode(job.request, job.host, job.port)
    outcomes: list[Outcome] = []
    cpu_from = _cpu()
    warm_until = time.perf_counter() + job.warmup_s
    stop_at = warm_until + job.duration_s
    measured_from = warm_until

    async def one_connection() -> None:
        connection = Connection(job.host, job.port)
        try:
            while (now := time.perf_counter()) < stop_at and len(outcomes) < job.max_requests:
                outcome = await _send(connection, raw, want_verdict=False)
                if now >= warm_until:
                    outcomes.append(outcome)
        finally:
            await connection.close()

    async def end_of_warmup() -> None:
        nonlocal cpu_from
        await asyncio.sleep(job.warmup_s)
        cpu_from = _cpu()

    await asyncio.gather(end_of_warmup(), *(one_connection() for _ in range(job.concurrency)))
    return outcomes, time.perf_counter() - measured_from, _cpu() - cpu_from


async def _list(job: Job) -> Measured:
    raws = [encode(request, job.host, job.port) for request in job.requests]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in raws:
        queue.put_nowait(raw)
    outcomes: list[Outcome] = []
    cpu_from = _cpu()
    started = time.perf_counter()
    stop_at = started + job.duration_s

    async def one_connection() -> None:
        connection = Connection(job.host, job.port)
        try:
            while time.perf_counter() < stop_at and not queue.empty():
                outcomes.append(await _send(connection, queue.get_nowait(), want_verdict=True))
        finally:
            await connection.close()

    await asyncio.gather(*(one_connection() for _ in range(job.concurrency)))
    return outcomes, time.perf_counter() - started, _cpu() - cpu_from


async def _probe(job: Job) -> Measured:
    assert job.request is not None
    raw = encode(job.request, job.host, job.port)
    outcomes: list[Outcome] = []
    connection = Connection(job.host, job.port)
    # SIGTERM ends the probe early (the caller stops it when the load it watches is over).
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    cpu_from = _cpu()
    started = time.perf_counter()
    try:
        while time.perf_counter() < started + job.duration_s and not stopped.is_set():
            outcome = await _send(connection, raw, want_verdict=False)
            outcomes.append(outcome)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stopped.wait(), timeout=max(0.0, job.interval_s - outcome.latency_ms / 1000.0)
                )
    finally:
        await connection.close()
    return outcomes, time.perf_counter() - started, _cpu() - cpu_from


async def _run(job: Job) -> dict[str, Any]:
    modes = {"repeat": _repeat, "list": _list, "probe": _probe}
    outcomes, elapsed, cpu = await modes[job.mode](job)
    return {"elapsed_s": elapsed, "cpu_s": cpu, "outcomes": msgspec.to_builtins(outcomes)}


def main() -> None:
    job = msgspec.json.decode(sys.stdin.buffer.read(), type=Job)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    answer = memoryview(msgspec.json.encode(runner(_run(job))))
    # Written with os.write until all of it is out: after the event loop, one buffered write of a few
    # MB to the pipe returned short (131,072 of 2.4 MB) and the parent read JSON cut off mid-way.
    sys.stdout.flush()
    fd = sys.stdout.fileno()
    os.set_blocking(fd, True)
    while answer:
        answer = answer[os.write(fd, answer) :]

if __name__ == "__main__":
    main()
