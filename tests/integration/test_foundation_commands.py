"""The commands a newcomer and an operator run: dev, token, serve's fail-fast settings, migrate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from courier_api.dev_state import read_state
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.devstack.stack import create_database
from infra.errors import ConfigError
from infra.migrate import apply_migrations, bundled_migrations
from infra.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from courier_api.cli import main; raise SystemExit(main())"]
BASE_ENV = {"DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "S3_BUCKET": "b", "JWT_SECRET": "s" * 40}


def test_settings_fail_fast_naming_the_variable() -> None:
    for missing in ("DATABASE_URL", "S3_BUCKET", "JWT_SECRET"):
        env = {k: v for k, v in BASE_ENV.items() if k != missing}
        with pytest.raises(ConfigError) as caught:
            load_settings(env)
        assert caught.value.variable == missing
    for variable, bad in (
        ("DB_POOL_MAX", "many"),
        ("JWT_SECRET", "short"),
        ("GPS_RADIUS_M", "-5"),
        ("VERIFY_POOL", "gpu"),
        ("UPLOAD_BODY_TIMEOUT_S", "0"),
        ("UPLOAD_BODY_TIMEOUT_S", "soon"),
        ("UPLOAD_BODY_TIMEOUT_S", "inf"),
        ("UPLOAD_BODY_TIMEOUT_S", "nan"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_settings(BASE_ENV | {variable: bad})
        assert caught.value.variable == variable
    assert load_settings(BASE_ENV | {"DB_POOL_MAX": "25"}).db_pool_max == 25
    assert load_settings(BASE_ENV).upload_body_timeout_s == 30.0
    assert load_settings(BASE_ENV | {"UPLOAD_BODY_TIMEOUT_S": "1.5"}).upload_body_timeout_s == 1.5


def test_serve_refuses_to_start_without_its_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k not in BASE_ENV}
    result = subprocess.run(
        [*CLI, "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


async def test_migrate_twice_is_a_no_op(dev_stack: DevStack) -> None:
    await create_database(dev_stack.postgres.dsn, "migrate_twice")
    dsn = dev_stack.postgres.dsn_for("migrate_twice")
    first = await apply_migrations(dsn)
    assert first == [m.version for m in bundled_migrations()]
    assert await apply_migrations(dsn) == []


def test_dev_serves_mints_tokens_and_stops_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("COURIER_DEV_DIR", str(tmp_path / "dev"))  # read_state() below reads the same folder
    env = dict(os.environ)
    dev = subprocess.Popen(
        [*CLI, "dev", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        deadline = started + 90
        while True:
            assert dev.poll() is None, "courier-api dev exited early"
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "dev server not ready within 90 s"
            time.sleep(0.2)
        ready_after = time.monotonic() - started
        assert ready_after < 60
        children = psutil.Process(dev.pid).children(recursive=True)
        assert any("moto.server" in " ".join(c.cmdline()) for c in children)

        token = subprocess.run(
            [*CLI, "token", "--role", "service", "--sub", "oms"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        order = httpx.get(f"{base}/v1/orders/demo-mow-1", headers={"Authorization": f"Bearer {token}"})
        assert order.status_code == 200, order.text
        assert order.json()["courierId"] == "courier-1"
        assert httpx.get(f"{base}/schema/openapi.json").status_code == 200
        state = read_state()
        assert state is not None
        data_dir = state.postgres_data_dir
        assert postmasters(data_dir)
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=60)
    assert dev.returncode == 0
    # Helpers such as multiprocessing's resource tracker exit when they see their parent gone.
    _, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], [p.cmdline() for p in alive]
    assert not (tmp_path / "dev" / "state.json").exists()
    assert postmasters(data_dir) == set()
    assert not Path(data_dir).exists()


def postmasters(data_dir: str) -> set[int]:
    """PIDs of live PostgreSQL servers running on this data directory."""
    found = set()
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        alive = process.info["status"] != psutil.STATUS_ZOMBIE
        if process.info["name"] == "postgres" and data_dir in cmdline and alive:
            found.add(process.pid)
    return found
