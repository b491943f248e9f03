"""Email over SMTP with `aiosmtplib`: implicit TLS, STARTTLS or plain, optional AUTH, bounded in time.

One connection per message: a relay throttles long-lived sessions anyway, and a fresh connection means a
failure never leaves a half-used session behind for the next notification.

Every step (connect and greeting, TLS handshake, each command) is bounded by `timeout_s`, and the whole
conversation by `send_timeout_s`, so a server that accepts the connection and then says nothing (a plain
client at an implicit-TLS port, a tarpit) costs one bounded attempt, never a stuck worker.
"""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

import aiosmtplib

from infra.channels import DeliveryFailed, Notification
from infra.errors import ConfigError

SmtpTls = Literal["starttls", "tls", "none"]

# The registered port of each mode: submission with STARTTLS (RFC 6409), submissions with implicit TLS
# (RFC 8314), and the plain relay port.
DEFAULT_PORTS: dict[SmtpTls, int] = {"starttls": 587, "tls": 465, "none": 25}


class EmailChannel:
    """One plain-text message per notification; 4xx/connection errors retry, 5xx and TLS refusals do not."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        sender: str,
        port: int | None = None,
        tls: SmtpTls = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        send_timeout_s: float = 60.0,
        ca_file: str | None = None,
    ) -> None:
        self._host = host
        self._port = port if port is not None else DEFAULT_PORTS[tls]
        self._sender = sender
        self._tls: SmtpTls = tls
        self._username = username
        self._password = password
        self._timeout_s = timeout_s
        self._send_timeout_s = send_timeout_s
        # Certificates are always verified: a relay we cannot authenticate would get the password too.
        self._tls_context = ssl.create_default_context()
        if ca_file is not None:
            try:
                self._tls_context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError("SMTP_CA_FILE", f"cannot be read as PEM certificates ({exc})") from exc

    def skip_reason(self, notification: Notification) -> str | None:
        return None if notification.email else "the customer has no email address"

    async def send(self, notification: Notification) -> None:
        message = self._compose(notification)
        step = _Step()
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await self._deliver(message, step)
        except DeliveryFailed:
            raise
        except TimeoutError as exc:
            # aiosmtplib's own timeouts are TimeoutError too; asyncio.timeout's is the whole-send bound.
            raise DeliveryFailed(self._timeout_reason(step.name), retryable=True) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Only codes go into the error: SMTP replies often quote the recipient address.
            codes = sorted({refused.code for refused in exc.recipients})
            raise DeliveryFailed(f"smtp refused the recipient {codes}", retryable=_transient(codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"smtp {step.name} answered {exc.code}", retryable=_transient([exc.code])
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            tls_error = _ssl_error_in(exc)
            if tls_error is not None:
                raise DeliveryFailed(
                    f"smtp TLS failed at {step.name} ({tls_error.reason or type(tls_error).__name__})",
                    retryable=not isinstance(tls_error, ssl.SSLCertVerificationError),
                ) from exc
            raise DeliveryFailed(
                f"smtp unreachable at {step.name} ({type(exc).__name__})", retryable=True
            ) from exc

    async def aclose(self) -> None:
        """Nothing to release: each message has its own connection."""

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

    async def _deliver(self, message: EmailMessage, step: _Step) -> None:
        # The steps are driven one by one (not by aiosmtplib's connect-time STARTTLS/login) so a failure
        # names the step it happened at: that is what tells an operator which setting is wrong.
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            use_tls=self._tls == "tls",
            start_tls=False,
            tls_context=self._tls_context,
            timeout=self._timeout_s,
        )
        step.name = "connect"
        await client.connect()
        try:
            if self._tls == "starttls":
                step.name = "starttls"
                await client.ehlo()
                if not client.supports_extension("starttls"):
                    # Sending in clear instead would hand the password and the mail to anyone on the path.
                    raise DeliveryFailed(
                        "smtp server does not offer STARTTLS (SMTP_TLS=starttls)", retryable=False
                    )
                await client.starttls()
            if self._username is not None and self._password is not None:
                step.name = "login"
                await client.login(self._username, self._password)
            step.name = "send"
            await client.send_message(message)
        finally:
            await _quit_quietly(client)

    def _timeout_reason(self, step: str) -> str:
        reason = (
            f"smtp timed out at {step} "
            f"(SMTP_TIMEOUT_S={self._timeout_s:g}, SMTP_SEND_TIMEOUT_S={self._send_timeout_s:g})"
        )
        if step == "connect" and self._tls != "tls":
            # The usual cause: a plain client waiting for the greeting of a server waiting for a TLS hello.
            reason += "; an implicit-TLS port (465) needs SMTP_TLS=tls"
        return reason


class _Step:
    """Where the conversation is, for the error message."""

    name = "connect"


async def _quit_quietly(client: aiosmtplib.SMTP) -> None:
    # The message counts as delivered once the server accepted its DATA; a QUIT that fails after that must
    # not turn into a retry (a duplicate email).
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def _ssl_error_in(exc: BaseException) -> ssl.SSLError | None:
    # aiosmtplib wraps handshake failures in SMTPConnectError; the SSL reason is in the cause chain.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _transient(codes: list[int]) -> bool:
    # 4xx replies are "try again later"; 5xx are permanent for this message.
    return all(400 <= code < 500 for code in codes)
