"""The signed webhook to the company's push/SMS gateway, in the Standard Webhooks format.

Each request carries (https://www.standardwebhooks.com, "Signature scheme"):
    webhook-id          the dedupe key `{event_id}:webhook`: the same on every retry of one event
    webhook-timestamp   Unix seconds when this attempt was signed
    webhook-signature   `v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`, one entry per active
                        secret, separated by spaces, so a receiver holding either the old or the new secret
                        verifies during a rotation
Secrets are `whsec_<base64 key>`; the key is the decoded bytes (at least 24 of them).

A receiver rejects replays in two steps (`verify_webhook` does the first):
1. Refuse a bad signature or a timestamp further than `tolerance_s` (default 5 minutes) from its own clock.
   The id is signed, so a captured request cannot be replayed under a new id: it must keep its id.
2. Remember the `webhook-id`s it has acted on for at least that tolerance plus our longest retry horizon,
   and answer 2xx without acting again on an id it has seen: we deliver at least once, so a legitimate
   retry carries the same id with a new timestamp and signature.

We sign with our own few lines rather than the `standardwebhooks` package (the tests check our requests
against it): its `verify` reads the wall clock with a fixed 5-minute tolerance where receivers and tests
pass their own `now`, raises ValueError or binascii.Error on a malformed signature header instead of
refusing it, and decodes a mistyped secret leniently into some other key instead of failing at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import httpx
import msgspec

from infra.channels import DeliveryFailed, Notification

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300.0
# Standard Webhooks asks for 24 to 64 random bytes; fewer is guessable, more buys nothing with SHA-256.
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64
# Statuses worth another try; any other 4xx means the request itself is wrong and will stay wrong.
_RETRYABLE_STATUSES = frozenset({408, 425, 429})


class WebhookBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    event_id: str
    dedupe_key: str
    event_type: str
    occurred_at: datetime
    order_id: str
    customer_id: str
    locale: str
    phone: str | None
    title: str
    text: str
    url: str
    data: dict[str, object]


def new_secret() -> str:
    """A fresh `whsec_` secret with a 32-byte random key (for operators and tests)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def decode_secret(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret; ValueError (never quoting the secret) when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a secret must start with {SECRET_PREFIX}")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Unpadded base64 is common in the wild; validate=True refuses stray characters instead of
        # silently dropping them and signing with some other key.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError(f"the part after {SECRET_PREFIX} must be base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(f"the key must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, not {len(key)}")
    return key


def sign_webhook(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,` entry per key, space separated."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        f"{SIGNATURE_VERSION},{base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode()}"
        for key in keys
    )


def verify_webhook(
    secret: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when one listed signature matches `secret` (or one of several) for this id, timestamp and raw
    body, and the timestamp is within `tolerance_s` of `now` (receivers' check; header names in any case).

    Remembering ids (the second half of replay protection) is the receiver's job. A malformed secret is
    the receiver's own misconfiguration and raises ValueError; anything wrong with the request is False.
    """
    keys = [decode_secret(one) for one in ([secret] if isinstance(secret, str) else secret)]
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    # Digits only: int() would also take " 17", "+17" or "1_7", each a different signed string; and short,
    # since int() of thousands of digits is slow, then refused.
    if not msg_id or len(timestamp) > 12 or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance_s:
        return False
    expected = sign_webhook(keys, msg_id, int(timestamp), body).split(" ")
    offered = [entry for entry in signatures.split(" ") if entry.startswith(f"{SIGNATURE_VERSION},")]
    return any(
        hmac.compare_digest(mine.encode(), theirs.encode()) for mine in expected for theirs in offered
    )


class WebhookChannel:
    """POSTs one JSON body per notification; 2xx is delivered, 5xx/timeouts are retried."""

    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        secrets: Sequence[str],
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not secrets:
            raise ValueError("a webhook channel needs at least one secret")
        self._url = url
        # Every active secret signs every request: receivers on the old and on the new secret both verify.
        self._keys = [decode_secret(secret) for secret in secrets]
        # The signing time is the real wall clock: the receiver compares it with its own.
        self._wall_clock = wall_clock
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), transport=transport, follow_redirects=False
        )

    def skip_reason(self, notification: Notification) -> str | None:
        return None

    async def send(self, notification: Notification) -> None:
        body = msgspec.json.encode(
            WebhookBody(
                event_id=str(notification.event_id),
                dedupe_key=notification.dedupe_key,
                event_type=notification.event_type,
                occurred_at=notification.occurred_at,
                order_id=notification.order_id,
                customer_id=notification.customer_id,
                locale=notification.locale,
                phone=notification.phone,
                title=notification.subject,
                text=notification.body,
                url=notification.link,
                data=notification.data,
            )
        )
        timestamp = int(self._wall_clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "door-drop-outbox/2",
            "webhook-id": notification.dedupe_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_webhook(self._keys, notification.dedupe_key, timestamp, body),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"webhook timeout ({type(exc).__name__})", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook unreachable ({type(exc).__name__})", retryable=True) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in _RETRYABLE_STATUSES
        raise DeliveryFailed(f"webhook answered HTTP {status}", retryable=retryable)

    async def aclose(self) -> None:
        await self._client.aclose()
