"""Shared fixtures: a real PostgreSQL and a real S3 HTTP server, started once per test run.

Unit tests use none of these, so they never start the stack.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from courier_api.app import create_app
from courier_api.auth import Role, TokenService
from courier_api.demo import seed_policies
from infra.database import Database
from infra.devstack import DevStack
from infra.devstack.stack import create_database
from infra.migrate import apply_migrations
from infra.settings import Settings
from infra.storage import ObjectStore

AuthHeaders = Callable[[Role, str], dict[str, str]]


@pytest.fixture(scope="session")
def dev_stack() -> Iterator[DevStack]:
    stack = DevStack()
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
async def settings(dev_stack: DevStack) -> Settings:
    name = f"test_{secrets.token_hex(4)}"
    await create_database(dev_stack.postgres.dsn, name)
    database_url = dev_stack.postgres.dsn_for(name)
    await apply_migrations(database_url)
    return Settings(
        database_url=database_url,
        s3_bucket=f"test-evidence-{secrets.token_hex(4)}",
        s3_endpoint_url=dev_stack.s3.endpoint_url,
        jwt_secret=secrets.token_urlsafe(48),
        # Explicitly off: most tests enroll bare Ed25519 keys and are not about attestation;
        # tests/api/test_device_attestation_api.py runs an app with attestation required.
        device_attestation="off",
    )


@pytest.fixture(scope="session")
async def store(settings: Settings, dev_stack: DevStack) -> ObjectStore:
    object_store = ObjectStore.for_settings(settings, dev_stack.s3_credentials)
    await object_store.ensure_bucket()
    return object_store


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.connect(settings.database_url, min_size=1, max_size=4)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(scope="session")
async def rollout(db: Database) -> list[int]:
    """The real rollout timeline from ROLLOUT_START; now falls in its last step (50,000 RUB everywhere)."""
    return await seed_policies(db)


@pytest.fixture(scope="session")
def app(settings: Settings, dev_stack: DevStack, store: ObjectStore, rollout: list[int]) -> Litestar:
    return create_app(settings, s3_credentials=dev_stack.s3_credentials)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> TokenService:
    return TokenService(settings.jwt_secret)


@pytest.fixture(scope="session")
def auth(tokens: TokenService) -> AuthHeaders:
    def headers(role: Role, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.mint(role=role, sub=sub)}"}

    return headers
