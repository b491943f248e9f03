"""A throwaway PostgreSQL server started from real binaries.

Binaries: the `pgserver` wheel's bundled PostgreSQL 16 (pip-installable, so a fresh machine
needs nothing else); when that wheel is absent or broken, the machine's own `pg_ctl`/`initdb`
found through `pg_config --bindir` or PATH. PostgreSQL refuses to run as root, so when we are
root the server runs as an unprivileged system user (created on first use).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from infra.devstack.ports import free_port

_SYSTEM_USER = "courierpg"


def find_postgres_bindir() -> Path:
    """Where initdb and pg_ctl live: the pgserver wheel first, then the machine."""
    # Locate the wheel's binaries without importing it: pgserver does work at import time.
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        candidate = Path(spec.origin).parent / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        candidate = Path(out.stdout.strip())
        if (candidate / "pg_ctl").exists():
            return candidate
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise RuntimeError("no PostgreSQL binaries: pip install pgserver, or install PostgreSQL (initdb, pg_ctl)")


class EmbeddedPostgres:
    """initdb + pg_ctl on a temporary data directory, listening on 127.0.0.1 only."""

    def __init__(self, *, port: int | None = None, base_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self._base = Path(tempfile.mkdtemp(prefix="courier-pg-", dir=base_dir))
        self.data_dir = self._base / "data"
        self.log_file = self._base / "postgres.log"
        self._bindir = find_postgres_bindir()
        self._user = _ensure_system_user() if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chmod(self._base, 0o755)  # noqa: S103 - the server user must reach its data dir
            os.chown(self._base, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )

    def start(self) -> None:
        # fsync off: this server is throwaway; a process crash still loses nothing committed.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self._base} -c fsync=off -c full_page_writes=off"
            " -c max_connections=300 -c shared_buffers=128MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, *, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self._base, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        result = subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
            [str(self._bindir / program), *args],
            user=self._user,
            capture_output=True,
            text=True,
            check=False,
            cwd=self._base,
        )
        if check and result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr}\n{log[-2000:]}")


def _ensure_system_user() -> str:
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _SYSTEM_USER], check=True)  # noqa: S607, S603
    return _SYSTEM_USER
