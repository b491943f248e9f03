"""Notification channels: the signed webhook to the push/SMS gateway, and email over SMTP.

Error tree:
    DeliveryFailed(retryable)   the channel did not take the message; retry later or give up

A sender never logs or reports recipients or message text: errors carry status codes and
exception class names only, because they end up in the outbox's `last_error` that support reads.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import msgspec


class DeliveryFailed(Exception):
    """The channel refused or could not be reached. `retryable` False means retrying cannot help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One event rendered for one customer, ready for any channel."""

    dedupe_key: str
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    order_id: str
    customer_id: str
    locale: str
    email: str | None
    phone: str | None
    subject: str
    body: str
    link: str
    data: dict[str, Any]


class Channel(Protocol):
    """A way to reach the customer; the worker calls `skip_reason` first, then `send`."""

    name: str

    def skip_reason(self, notification: Notification) -> str | None:
        """Why this channel does not apply to this notification, or None to send."""
        ...

    async def send(self, notification: Notification) -> None:
        """Deliver once or raise DeliveryFailed."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...
