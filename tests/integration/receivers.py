"""Real receivers on 127.0.0.1 for the outbox channels: a signed-webhook endpoint and an SMTP server.

The webhook receiver does what a production receiver should: verify the Standard Webhooks signature and
timestamp with `verify_webhook`, and answer 2xx without acting again for a `webhook-id` it has already seen.
The SMTP server can require STARTTLS or speak implicit TLS, with a throwaway certificate made here, and AUTH.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import msgspec
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.channels.webhook import verify_webhook
from infra.devstack.ports import free_port


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    dedupe_key: str
    event_type: str
    body: dict[str, Any]


class WebhookReceiver:
    """A tiny HTTP/1.1 server (one request per connection) that records what it accepted."""

    def __init__(self, secret: str | Sequence[str], *, tolerance_s: float = 300.0) -> None:
        self._secret = secret
        # The value for WEBHOOK_SECRETS of a sender that this receiver accepts.
        self.secret = secret if isinstance(secret, str) else " ".join(secret)
        self._tolerance_s = tolerance_s
        self._server: asyncio.Server | None = None
        self._fail_next = 0
        self._fail_status = 503
        self.accepted: list[WebhookDelivery] = []
        # Every request that passed the signature check, in arrival order, including failed and repeated ones.
        self.requests: list[str] = []
        self.duplicates: list[str] = []
        self.bad_signatures = 0
        # Raw (headers, body) of every request that arrived, as an eavesdropper would have captured it.
        self.captured: list[tuple[dict[str, str], bytes]] = []
        self.arrivals = 0
        self._gate = asyncio.Event()
        self._gate.set()
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/door-drop"

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """Answer the next `count` valid requests with `status` instead of accepting them."""
        self._fail_next = count
        self._fail_status = status

    def hold(self) -> None:
        """Keep every request that arrives waiting (unanswered, unprocessed) until `release`."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def requests_for(self, key: str) -> int:
        return self.requests.count(key)

    def accepted_for(self, key: str) -> list[WebhookDelivery]:
        return [delivery for delivery in self.accepted if delivery.dedupe_key == key]

    async def wait_for(self, key: str) -> WebhookDelivery:
        """Until a delivery with this dedupe key is accepted (wrap in a timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: bool(self.accepted_for(key)))
        return self.accepted_for(key)[0]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.arrivals += 1
            self.captured.append((headers, body))
            await self._gate.wait()
            status = self._answer(headers, body)
            async with self._arrived:
                self._arrived.notify_all()
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        if not verify_webhook(self._secret, headers, body, datetime.now(UTC), self._tolerance_s):
            self.bad_signatures += 1
            return 401
        # The signed id, not anything else in the request: only it cannot be changed by a replayer.
        key = headers["webhook-id"]
        self.requests.append(key)
        if self._fail_next > 0:
            self._fail_next -= 1
            return self._fail_status
        if any(delivery.dedupe_key == key for delivery in self.accepted):
            # Seen before: acknowledge so the sender stops, but do not act twice.
            self.duplicates.append(key)
            return 200
        payload = json.loads(body)
        self.accepted.append(WebhookDelivery(dedupe_key=key, event_type=payload["eventType"], body=payload))
        return 200


class ThrowawayCertificate(msgspec.Struct, frozen=True, kw_only=True):
    """A self-signed certificate for 127.0.0.1 and localhost; `cert_path` doubles as the CA file to trust."""

    cert_path: Path
    key_path: Path

    @classmethod
    def create(cls, folder: Path) -> ThrowawayCertificate:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "door-drop test smtp")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cls(cert_path=cert_path, key_path=key_path)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


class _Accounts:
    """aiosmtpd's authenticator: one login and password; counts the refusals."""

    def __init__(self, login: str, password: str) -> None:
        self._login = login.encode()
        self._password = password.encode()
        self.refused = 0

    def __call__(
        self, server: object, session: object, envelope: object, mechanism: str, auth_data: object
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self._login
            and auth_data.password == self._password
        ):
            return AuthResult(success=True)
        self.refused += 1
        return AuthResult(success=False, handled=False)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


class _ImplicitTlsController(Controller):
    def factory(self) -> SMTP:
        # aiosmtpd warns that AUTH without STARTTLS is unsafe, not knowing that every byte here is TLS;
        # the warning (an error in tests) is raised in the server's thread, so it is silenced right here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            smtp: SMTP = super().factory()  # type: ignore[no-untyped-call]  # aiosmtpd is untyped
        return smtp


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 in its own thread; `messages` holds every message it took.

    `tls="starttls"` refuses mail (and AUTH) before STARTTLS, `tls="tls"` speaks TLS from the first byte;
    with `login` and `password` it refuses mail from clients that did not authenticate.
    """

    def __init__(
        self,
        *,
        tls: Literal["none", "starttls", "tls"] = "none",
        certificate: ThrowawayCertificate | None = None,
        login: str | None = None,
        password: str | None = None,
    ) -> None:
        self._inbox = _Inbox()
        self.port = free_port()
        self.accounts = _Accounts(login, password) if login is not None and password is not None else None
        options: dict[str, Any] = {}
        if tls != "none":
            assert certificate is not None, "a TLS receiver needs a certificate"
        if tls == "starttls":
            assert certificate is not None
            options.update(tls_context=certificate.server_context(), require_starttls=True)
        elif tls == "tls":
            assert certificate is not None
            # The whole connection is TLS; aiosmtpd only counts STARTTLS as encryption for AUTH.
            options.update(ssl_context=certificate.server_context(), auth_require_tls=False)
        if self.accounts is not None:
            options.update(authenticator=self.accounts, auth_required=True)
        controller = _ImplicitTlsController if tls == "tls" else Controller
        self._controller = controller(self._inbox, hostname="127.0.0.1", port=self.port, **options)

    @property
    def messages(self) -> list[EmailMessage]:
        return self._inbox.messages

    def messages_for(self, key: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["X-DoorDrop-Event-Id"] == key]

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
