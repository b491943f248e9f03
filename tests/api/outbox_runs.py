"""Run the real outbox worker from API tests, at a chosen moment, to tell customers of their drops."""

from __future__ import annotations

import random
from datetime import datetime

import msgspec

from courier_api.notifications.worker import OutboxWorker, channels_from_settings
from infra.channels.webhook import new_secret
from infra.database import Database
from infra.settings import Settings

WEBHOOK_SECRET = new_secret()


async def deliver_notifications(
    db: Database, settings: Settings, *, at: datetime, webhook: str | None
) -> None:
    """Run the worker over everything due, its clock at `at`: with no webhook every row is skipped
    (no channel is configured), with one the rows are sent to it."""
    wired = msgspec.structs.replace(
        settings, webhook_url=webhook, webhook_secrets=(WEBHOOK_SECRET,) if webhook else ()
    )
    channels = channels_from_settings(wired)
    try:
        worker = OutboxWorker(db, wired, channels, clock=lambda: at, rng=random.Random(3))
        for _ in range(50):
            if not await worker.run_once():
                break
    finally:
        for channel in channels.values():
            await channel.aclose()
