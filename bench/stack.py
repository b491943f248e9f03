"""The service under load, set up by our own code: throwaway PostgreSQL + S3, `courier-api serve` processes.

Also: CPU time of a process tree from /proc (Linux), so a benchmark can charge the server for
everything it runs: uvicorn workers, the verification pool and its forkserver.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from courier_api.demo import seed_policies
from infra.database import Database
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.devstack.stack import create_database
from infra.migrate import apply_migrations
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.processes import service_env, start_api, stop

_TICKS = os.sysconf("SC_CLK_TCK")


class BenchStack:
    """A dev stack with a migrated, seeded database and a bucket; servers are started on demand."""

    def __init__(self) -> None:
        self.dev = DevStack()
        self.logs = Path(tempfile.mkdtemp(prefix="courier-bench-"))
        self.settings: Settings | None = None
        self.extra_env: dict[str, str] = {}

    def start(self) -> Settings:
        self.dev.start()
        self.settings = asyncio.run(self._prepare())
        return self.settings

    async def _prepare(self) -> Settings:
        await create_database(self.dev.postgres.dsn, "bench")
        url = self.dev.postgres.dsn_for("bench")
        await apply_migrations(url)
        settings = Settings(
            database_url=url,
            s3_bucket=f"bench-evidence-{secrets.token_hex(4)}",
            s3_endpoint_url=self.dev.s3.endpoint_url,
            jwt_secret=secrets.token_urlsafe(48),
            device_attestation="off",  # the load benches enroll bare Ed25519 keys
        )
        access_key, secret_key = self.dev.s3_credentials
        await ObjectStore(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=access_key,
            secret_key=secret_key,
        ).ensure_bucket()
        db = await Database.connect(url, min_size=1, max_size=2)
        try:
            await seed_policies(db)
        finally:
            await db.close()
        return settings

    @contextmanager
    def serve(self, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
        """`courier-api serve --workers N` on a free loopback port, stopped on exit."""
        assert self.settings is not None
        port = free_port()
        env = service_env(self.settings, s3_credentials=self.dev.s3_credentials, **self.extra_env)
        process = start_api(env, port, workers=workers, log=self.logs / f"serve-{port}.log")
        try:
            yield f"http://127.0.0.1:{port}", process
        finally:
            stop(process)

    def s3_pid(self) -> int | None:
        """moto's process, to charge the stand-in S3 server's CPU separately from ours."""
        process = self.dev.s3._process  # the dev stack does not expose it; read-only use
        return process.pid if process is not None else None

    def stop(self) -> None:
        self.dev.stop()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        found.extend(int(child) for child in text.split())
    return found


def tree_pids(root: int) -> list[int]:
    """The process and all its live descendants."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(_children(pid))
    return pids


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process tree, including descendants it has already reaped."""
    total = 0
    for pid in tree_pids(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the ")": state is field 3 of stat, so utime/stime/cutime/cstime (14-17) sit at 11-14.
        total += sum(int(value) for value in fields[11:15])
    return total / _TICKS


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS
