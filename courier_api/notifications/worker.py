"""The outbox worker: leases due rows, renders them, sends them per channel, records the outcome.

Delivery is at least once. In the normal case nothing is sent twice, even with several workers on one
database: a row is leased with `FOR UPDATE SKIP LOCKED` and marked `sending` before any network call,
so other workers pass over it. A worker that dies mid-send loses its lease after `lease_s`, and the row
comes back to whoever claims next; that is the one case where a receiver may see a repeat, which is why
every delivery carries the dedupe key `{event_id}:{channel}`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime, timedelta

import msgspec

from courier_api import metrics
from courier_api.auth import TokenService
from courier_api.notifications.texts import DOOR_DROP_COMPLETED, IncompletePayload, UnknownEvent, render
from eligibility.city_time_zones import city_time_zone
from infra.channels import Channel, DeliveryFailed, Notification
from infra.channels.email import EmailChannel
from infra.channels.webhook import WebhookChannel
from infra.database import Database
from infra.errors import ConfigError, DatabaseUnavailable
from infra.repositories import UnitOfWork
from infra.repositories.orders import OrderRecord
from infra.repositories.outbox import OutboxEntry
from infra.settings import Settings

Clock = Callable[[], datetime]
_log = logging.getLogger("courier_api.outbox")

# A batch is sent concurrently, so the lease must outlast the slowest send in it: channel timeouts
# are 10 s and email runs 4 SMTP threads, so 16 rows finish well inside two minutes.
DEFAULT_BATCH_SIZE = 16
DEFAULT_LEASE_S = 120.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Sent(msgspec.Struct, frozen=True):
    pass


class _Skipped(msgspec.Struct, frozen=True):
    reason: str


class _Failed(msgspec.Struct, frozen=True):
    reason: str
    retryable: bool


_Outcome = _Sent | _Skipped | _Failed


def _outcome_label(outcome: _Outcome, *, retry: bool) -> str:
    match outcome:
        case _Sent():
            return "sent"
        case _Skipped():
            return "skipped"
        case _Failed(retryable=True) if retry:
            return "retry"
        case _Failed():
            return "dead"


class OutboxWorker:
    """Drains the outbox; `run_once` for tests and tools, `run_forever` for the process."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        channels: Mapping[str, Channel],
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lease_s: float = DEFAULT_LEASE_S,
    ) -> None:
        self._db = db
        self._settings = settings
        self._tokens = TokenService(
            settings.jwt_secret,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            link_ttl_s=settings.link_token_ttl_s,
        )
        self._channels = dict(channels)
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._batch_size = batch_size
        self._lease_s = lease_s

    def backoff_s(self, attempts: int) -> float:
        """Delay before the next try after `attempts` failed ones: capped exponential, half jitter.

        The jitter spreads retries of many rows that failed together (a gateway outage) so they do
        not hit the gateway in one wave when it recovers.
        """
        base = self._settings.outbox_backoff_base_s
        capped = min(self._settings.outbox_backoff_max_s, base * 2.0 ** max(attempts - 1, 0))
        return capped * self._rng.uniform(0.5, 1.0)

    async def run_once(self) -> int:
        """Claim one batch of due rows and settle each; returns how many rows were claimed."""
        async with self._db.transaction() as uow:
            entries = await uow.outbox.claim_batch(
                worker_id=self.worker_id, limit=self._batch_size, lease_s=self._lease_s, now=self._clock()
            )
            orders = await _orders_of(uow, entries)
        # The claim is committed before any network call: a slow gateway holds no database connection.
        await asyncio.gather(*(self._settle(entry, orders.get(_order_id(entry))) for entry in entries))
        return len(entries)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; the batch in flight is finished, not abandoned."""
        _log.info("outbox worker %s started; channels: %s", self.worker_id, sorted(self._channels) or "none")
        while not stop.is_set():
            try:
                processed = await self.run_once()
            except DatabaseUnavailable:
                _log.warning("outbox worker: database unavailable, retrying")
                processed = 0
            except Exception:
                # A bug in one batch must not stop notifications for good; the rows come back after the lease.
                _log.exception("outbox worker: batch failed")
                processed = 0
            if processed < self._batch_size:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._settings.outbox_poll_interval_s)
        _log.info("outbox worker %s stopped", self.worker_id)

    async def _settle(self, entry: OutboxEntry, order: OrderRecord | None) -> None:
        outcome = await self._attempt(entry, order)
        now = self._clock()
        max_attempts = self._settings.outbox_max_attempts
        me = self.worker_id
        async with self._db.transaction() as uow:
            match outcome:
                case _Sent():
                    held = await uow.outbox.mark_sent(entry.id, worker_id=me, now=now)
                    if held and entry.event_type == DOOR_DROP_COMPLETED and order is not None:
                        # The claim window counts from here when the notice goes out late.
                        await uow.orders.mark_customer_notified(order.order_id, now)
                case _Skipped(reason=reason):
                    held = await uow.outbox.mark_skipped(entry.id, worker_id=me, now=now, reason=reason)
                case _Failed(reason=reason, retryable=True) if entry.attempts < max_attempts:
                    retry_at = now + timedelta(seconds=self.backoff_s(entry.attempts))
                    held = await uow.outbox.mark_failed(
                        entry.id, worker_id=me, now=now, next_attempt_at=retry_at, error=reason
                    )
                case _Failed(reason=reason):
                    error = f"gave up after {entry.attempts} attempt(s): {reason}"
                    held = await uow.outbox.mark_dead(entry.id, worker_id=me, now=now, error=error)
        _log.info(
            "outbox %s %s attempt %d: %s",
            entry.dedupe_key,
            entry.event_type,
            entry.attempts,
            type(outcome).__name__.strip("_").lower(),
        )
        if not held:
            _log.warning("outbox %s: lease lost before the outcome was recorded", entry.dedupe_key)
            return
        metrics.observe_delivery(entry.channel, _outcome_label(outcome, retry=entry.attempts < max_attempts))

    async def _attempt(self, entry: OutboxEntry, order: OrderRecord | None) -> _Outcome:
        if entry.attempts > self._settings.outbox_max_attempts:
            return _Failed("the worker stopped during the last allowed attempt", retryable=False)
        channel = self._channels.get(entry.channel)
        if channel is None:
            return _Skipped(f"{entry.channel} channel is not configured")
        if order is None:
            return _Failed("the event's order does not exist", retryable=False)
        try:
            notification = self._notification(entry, order)
        except UnknownEvent:
            return _Failed(f"no texts for event type {entry.event_type!r}", retryable=False)
        except IncompletePayload as exc:
            return _Failed(f"payload lacks {exc}", retryable=False)
        skip = channel.skip_reason(notification)
        if skip is not None:
            return _Skipped(skip)
        try:
            await channel.send(notification)
        except DeliveryFailed as exc:
            return _Failed(exc.reason, retryable=exc.retryable)
        except Exception as exc:
            _log.exception("outbox %s: sender crashed", entry.dedupe_key)
            return _Failed(f"sender error ({type(exc).__name__})", retryable=True)
        return _Sent()

    def _notification(self, entry: OutboxEntry, order: OrderRecord) -> Notification:
        customer = order.snapshot.customer
        locale = customer.locale
        # The link signs the customer in on this order's page only, view-only, for LINK_TOKEN_TTL_S from
        # the send; opening a claim needs a full sign-in (see courier_api/web/session.py).
        link_token = self._tokens.mint_order_link(
            customer_id=order.customer_id, order_id=order.order_id, issued_at=self._clock().timestamp()
        )
        text = render(
            entry.event_type,
            entry.payload,
            locale,
            self._settings.public_base_url,
            link_token=link_token,
            time_zone=city_time_zone(order.city),
        )
        return Notification(
            dedupe_key=entry.dedupe_key,
            event_id=entry.event_id,
            event_type=entry.event_type,
            occurred_at=entry.created_at,
            order_id=order.order_id,
            customer_id=order.customer_id,
            locale=locale,
            email=customer.email or None,
            phone=customer.phone or None,
            subject=text.subject,
            body=text.body,
            link=text.link,
            data=entry.payload,
        )


def _order_id(entry: OutboxEntry) -> str:
    value = entry.payload.get("orderId")
    return value if isinstance(value, str) else ""


async def _orders_of(uow: UnitOfWork, entries: list[OutboxEntry]) -> dict[str, OrderRecord | None]:
    # Recipients are read at send time, not copied into the outbox, so no contact details sit there.
    order_ids = {_order_id(entry) for entry in entries} - {""}
    return {order_id: await uow.orders.get(order_id) for order_id in sorted(order_ids)}


def channels_from_settings(settings: Settings) -> dict[str, Channel]:
    """The channels these settings configure; an unconfigured one is absent, so its rows are skipped."""
    channels: dict[str, Channel] = {}
    if settings.webhook_url:
        if not settings.webhook_secrets:
            raise ConfigError("WEBHOOK_SECRETS", "is required when WEBHOOK_URL is set")
        channels["webhook"] = WebhookChannel(url=settings.webhook_url, secrets=settings.webhook_secrets)
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_s=settings.smtp_timeout_s,
            send_timeout_s=settings.smtp_send_timeout_s,
            ca_file=settings.smtp_ca_file,
        )
    return channels


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Connect, drain the outbox until `stop` is set, then close everything (CLI `worker` and `dev`)."""
    channels = channels_from_settings(settings)
    db = await Database.connect(settings.database_url, min_size=1, max_size=2)
    try:
        await OutboxWorker(db, settings, channels, lease_s=settings.outbox_lease_s).run_forever(stop)
    finally:
        for channel in channels.values():
            await channel.aclose()
        await db.close()
