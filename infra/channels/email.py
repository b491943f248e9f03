"""Email over SMTP with the standard library, in a small dedicated thread pool.

No new dependency: smtplib is enough for one message per connection to a relay, and a thread keeps
its blocking socket work off the event loop.
"""

from __future__ import annotations

import asyncio
import smtplib
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import format_datetime

from infra.channels import DeliveryFailed, Notification

# Parallel SMTP conversations per worker; a relay throttles more than a few from one client anyway.
_SMTP_THREADS = 4


class EmailChannel:
    """One plain-text message per notification; 4xx/connection errors retry, 5xx does not."""

    name = "email"

    def __init__(self, *, host: str, port: int, sender: str, timeout_s: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=_SMTP_THREADS, thread_name_prefix="smtp")

    def skip_reason(self, notification: Notification) -> str | None:
        return None if notification.email else "the customer has no email address"

    async def send(self, notification: Notification) -> None:
        message = self._compose(notification)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._deliver, message)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=True)

    def _compose(self, notification: Notification) -> EmailMessage:
        assert notification.email is not None
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = notification.email
        message["Subject"] = notification.subject
        message["Date"] = format_datetime(notification.occurred_at)
        # Stable per event and channel, so mail clients and the relay can fold a retried duplicate.
        message["Message-ID"] = f"<{notification.event_id}.email@door-drop>"
        message["X-DoorDrop-Event-Id"] = notification.dedupe_key
        message.set_content(notification.body)
        return message

    def _deliver(self, message: EmailMessage) -> None:
        # Only codes and class names go into the error: SMTP replies often quote the recipient address.
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise DeliveryFailed(f"smtp refused the recipient {codes}", retryable=_transient(codes)) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"smtp answered {exc.smtp_code}", retryable=_transient([exc.smtp_code])
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"smtp unreachable ({type(exc).__name__})", retryable=True) from exc


def _transient(codes: list[int]) -> bool:
    # 4xx replies are "try again later"; 5xx are permanent for this message.
    return all(400 <= code < 500 for code in codes)
