"""Several `courier-api serve` and `courier-api worker` processes on one database and bucket, as
separate machines would run them, with a real webhook receiver for their notifications."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.channels.webhook import new_secret
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.settings import Settings
from tests.integration.receivers import WebhookReceiver
from tests.processes import service_env, start_api, start_worker, stop

WEBHOOK_SECRET = new_secret()


@dataclass(frozen=True)
class Cluster:
    apis: tuple[str, ...]
    webhook: WebhookReceiver


def webhook_env(
    settings: Settings, dev_stack: DevStack, webhook: WebhookReceiver, **extra: str
) -> dict[str, str]:
    """The environment of `serve`/`worker` processes that notify this receiver, polling the outbox briskly."""
    return service_env(
        settings,
        s3_credentials=dev_stack.s3_credentials,
        WEBHOOK_URL=webhook.url,
        WEBHOOK_SECRETS=webhook.secret,
        OUTBOX_POLL_INTERVAL_S="0.1",
        LOG_LEVEL="WARNING",
        **extra,
    )


@asynccontextmanager
async def running_cluster(
    settings: Settings, dev_stack: DevStack, logs: Path, *, apis: int = 2, workers: int = 2, **env: str
) -> AsyncIterator[Cluster]:
    """Start the processes (each API blocks until its /ready is 200); stop them all on exit."""
    webhook = WebhookReceiver(WEBHOOK_SECRET)
    await webhook.start()
    environment = webhook_env(settings, dev_stack, webhook, DB_POOL_MIN="1", DB_POOL_MAX="4", **env)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = [free_port() for _ in range(apis)]
        started = await asyncio.gather(
            *(asyncio.to_thread(start_api, environment, port, log=logs / f"api-{port}.log") for port in ports)
        )
        processes.extend(started)
        processes.extend(start_worker(environment, log=logs / f"worker-{n}.log") for n in range(workers))
        yield Cluster(apis=tuple(f"http://127.0.0.1:{port}" for port in ports), webhook=webhook)
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop, process) for process in processes))
        await webhook.stop()
