"""Both embedded services together, started and stopped in order."""

from __future__ import annotations

import importlib.util

import asyncpg

from infra.devstack.postgres import EmbeddedPostgres
from infra.devstack.s3 import DEV_ACCESS_KEY, DEV_SECRET_KEY, EmbeddedS3

DEVSTACK_INSTALL_HINT = "pip install 'door-drop[devstack]' (scripts/run installs it)"


def missing_devstack_packages() -> list[str]:
    """The embedded stack's packages that are not installed (they are an extra, not a runtime need)."""
    return [
        name
        for name in ("pgserver", "moto", "flask", "piexif", "aiosmtpd")
        if importlib.util.find_spec(name) is None
    ]


class DevStack:
    def __init__(self) -> None:
        self.postgres = EmbeddedPostgres()
        self.s3 = EmbeddedS3()

    def start(self) -> None:
        try:
            self.postgres.init()
            self.postgres.start()
            self.s3.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.s3.stop()
        self.postgres.remove()

    @property
    def s3_credentials(self) -> tuple[str, str]:
        return DEV_ACCESS_KEY, DEV_SECRET_KEY


async def create_database(admin_dsn: str, name: str) -> None:
    """Create an empty database (the name is ours, never user input)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
