"""The running dev stack's state in `.courier-dev/`, so other commands can talk to it."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


class DevState(msgspec.Struct, frozen=True, kw_only=True):
    base_url: str
    database_url: str
    s3_endpoint_url: str
    s3_bucket: str
    jwt_secret: str
    pid: int
    postgres_data_dir: str
    # JWT_ISSUER / JWT_AUDIENCE when the environment sets them: tokens minted for the server must carry them.
    jwt_issuer: str | None = None
    jwt_audience: str | None = None


def dev_dir() -> Path:
    return Path(os.environ.get("COURIER_DEV_DIR", ".courier-dev")).resolve()


def write_state(state: DevState) -> Path:
    folder = dev_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.encode(state))
    tmp.chmod(0o600)  # holds the signing secret
    tmp.replace(path)
    return path


def read_state() -> DevState | None:
    path = dev_dir() / "state.json"
    if not path.exists():
        return None
    return msgspec.json.decode(path.read_bytes(), type=DevState)


def clear_state() -> None:
    (dev_dir() / "state.json").unlink(missing_ok=True)
