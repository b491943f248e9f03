"""`pip install .` brings what `serve`, `worker` and `migrate` need, and nothing of the dev stack or the tests."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What only the embedded dev stack, the tests or the linters use.
NOT_AT_RUN_TIME = {
    "pgserver", "moto", "flask", "flask-cors", "piexif", "pytest", "pytest-asyncio", "hypothesis", "mypy",
    "ruff", "import-linter", "schemathesis", "playwright", "aiosmtpd", "psutil", "setuptools",
}  # fmt: skip
# What `serve`, `worker` and `migrate` import.
AT_RUN_TIME = {"litestar", "msgspec", "asyncpg", "boto3", "pillow", "zxing-cpp", "uvicorn", "jinja2"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("door_drop-*.whl")
    return built


def test_the_wheel_requires_only_what_the_service_runs_on(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    requirements = metadata.get_all("Requires-Dist") or []
    unconditional = {_name(r) for r in requirements if "extra ==" not in r}
    devstack = {_name(r) for r in requirements if re.search(r"extra\s*==\s*['\"]devstack['\"]", r)}
    assert unconditional >= AT_RUN_TIME
    assert not unconditional & NOT_AT_RUN_TIME, sorted(unconditional & NOT_AT_RUN_TIME)
    assert {"pgserver", "moto", "flask"} <= devstack


def test_the_wheel_carries_the_migrations_and_the_page_templates(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    migrations = {Path(n).name for n in names if n.startswith("infra/migrations/") and n.endswith(".sql")}
    assert migrations == {p.name for p in (REPO / "infra" / "migrations").glob("*.sql")}
    assert any(n.startswith("courier_api/web/templates/") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_dev_without_the_dev_stack_says_how_to_install_it() -> None:
    # The dev stack's packages are installed here, so make them unfindable for this one process.
    probe = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name in {'pgserver', 'moto', 'flask'} else real(name, *a)\n"
        "from courier_api import cli\n"
        "sys.exit(cli.main(['dev']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "pgserver, moto, flask missing" in done.stderr
    assert "pip install 'door-drop[devstack]'" in done.stderr
