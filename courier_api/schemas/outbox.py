"""What support sees of the notification outbox: dead letters and the queue's state."""

from __future__ import annotations

from datetime import datetime

from infra.documents import WireStruct


class OutboxEntryView(WireStruct):
    id: int
    event_id: str
    event_type: str
    channel: str
    dedupe_key: str
    status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime
    order_id: str | None = None
    last_error: str | None = None


class DeadLetters(WireStruct):
    items: list[OutboxEntryView]
    # Every status with its row count, so support sees a backlog building before it turns into dead letters.
    counts: dict[str, int]
