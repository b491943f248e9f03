"""Launch the real `courier-api` commands as child processes, for scale-out, fault and load tests.

Each process gets its own session (process group), so `stop` can take down everything it
started (uvicorn workers, the verification pool, the forkserver) without touching anything else.
Readiness is polled with a deadline, never waited for with a fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import httpx

from infra.settings import Settings

_LAUNCH = "from courier_api.cli import main; raise SystemExit(main())"


def service_env(
    settings: Settings, *, s3_credentials: tuple[str, str] | None = None, **extra: str
) -> dict[str, str]:
    """The environment `courier-api serve`/`worker` reads, built from test or bench settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"}
    }
    env |= {
        "DATABASE_URL": settings.database_url,
        "S3_BUCKET": settings.s3_bucket,
        "JWT_SECRET": settings.jwt_secret,
        "AWS_REGION": settings.s3_region,
        # Most tests enroll bare Ed25519 keys: they are not about attestation. The attestation tests
        # pass the variables they need through `extra`.
        "DEVICE_ATTESTATION": settings.device_attestation,
    }
    if settings.s3_endpoint_url:
        env["S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    if s3_credentials:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = s3_credentials
    env |= extra
    return env


def _launch(args: list[str], env: Mapping[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    sink: IO[bytes] | int = subprocess.DEVNULL
    if log is not None:
        sink = log.open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    finally:
        if not isinstance(sink, int):
            sink.close()  # the child holds its own descriptor


def start_api(
    env: Mapping[str, str],
    port: int,
    *,
    workers: int = 1,
    log: Path | None = None,
    ready_timeout_s: float = 45.0,
) -> subprocess.Popen[bytes]:
    """`courier-api serve` on 127.0.0.1:port; returns once `/ready` answers 200."""
    process = _launch(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)], env, log
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, timeout_s=ready_timeout_s)
    except BaseException as exc:
        stop(process)
        if log is not None and log.exists():
            exc.add_note(f"server log {log}:\n{log.read_text(errors='replace')[-3000:]}")
        raise
    return process


def start_worker(env: Mapping[str, str], *, log: Path | None = None) -> subprocess.Popen[bytes]:
    """`courier-api worker` (outbox delivery); it has no port, so it is ready when it runs."""
    return _launch(["worker"], env, log)


def wait_ready(base_url: str, process: subprocess.Popen[bytes], *, timeout_s: float) -> None:
    """Poll `/ready` until 200, the process exits, or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{base_url}: the server exited with {process.returncode} ({last})")
            try:
                answer = client.get(f"{base_url}/ready")
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:200]}"
            time.sleep(0.05)  # poll interval, not a wait for timing
    raise TimeoutError(f"{base_url}/ready not 200 after {timeout_s} s: {last}")


def stop(process: subprocess.Popen[bytes], *, timeout_s: float = 15.0) -> int:
    """SIGTERM (graceful: uvicorn drains, the worker finishes its batch), then SIGKILL its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout_s)
    # Whatever that process started and left behind lives in its own process group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait()
