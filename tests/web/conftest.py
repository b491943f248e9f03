"""The pages over real HTTP: a fresh app under uvicorn on a free 127.0.0.1 port, and headless Chromium.

Chromium is Debian's (`/usr/bin/chromium`), driven by Playwright; Playwright's own browser downloads are
never used. Without Chromium the browser tests are skipped with the install hint, except under CI=true,
where a missing browser fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import msgspec
import pytest
import uvicorn

from courier_api.app import create_app
from infra.devstack import DevStack
from infra.settings import Settings
from infra.storage import ObjectStore

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "apt-get install chromium (Debian's package; never `playwright install`) and pip install playwright"
)
START_DEADLINE_S = 20.0


@dataclass(frozen=True)
class LiveServer:
    url: str
    s3_origin: str


def _missing_browser(reason: str) -> NoReturn:
    message = f"headless Chromium unavailable ({reason}); install it with: {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def serving(settings: Settings, dev_stack: DevStack) -> Iterator[LiveServer]:
    """An app for these settings, served by uvicorn on a free 127.0.0.1 port in its own thread and loop."""
    app = create_app(
        msgspec.structs.replace(settings, verify_pool="thread"), s3_credentials=dev_stack.s3_credentials
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None keeps the app's own logging; uvicorn's access log would print query strings.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_DEADLINE_S
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the live server stopped while starting")
        if time.monotonic() > deadline:
            pytest.fail(f"the live server did not start within {START_DEADLINE_S:.0f} s")
        time.sleep(0.02)
    assert settings.s3_endpoint_url is not None
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", s3_origin=settings.s3_endpoint_url.rstrip("/"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def live_server(
    settings: Settings, dev_stack: DevStack, store: ObjectStore, rollout: list[int]
) -> Iterator[LiveServer]:
    """A second app on the same database and bucket, in loopback dev (the default PUBLIC_BASE_URL)."""
    with serving(settings, dev_stack) as server:
        yield server


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:  # an absolute path is checked as is
        _missing_browser(f"{CHROMIUM} not found")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing_browser("the playwright package is not installed")
    async with async_playwright() as playwright:
        launched = await asyncio.wait_for(
            playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS), timeout=30
        )
        try:
            yield launched
        finally:
            await launched.close()
