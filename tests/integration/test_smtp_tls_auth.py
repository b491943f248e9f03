"""Email through a relay that requires TLS and AUTH, as real providers do: aiosmtpd with a throwaway
certificate made in the test, driven by the real outbox worker over real PostgreSQL.

A misconfiguration (wrong password, plain client at a TLS-only port, relay without STARTTLS, untrusted
certificate) must end in the dead-letter path with a reason that names what is wrong, within the timeouts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from infra.database import Database
from infra.errors import ConfigError
from infra.repositories.outbox import OutboxEntry, dedupe_key
from infra.settings import Settings, load_settings
from tests.integration.receivers import SmtpReceiver, ThrowawayCertificate
from tests.integration.test_outbox_delivery import (
    FakeClock,
    create_order,
    enqueue,
    open_channels,
    rows,
    worker,
)

LOGIN = "door-drop@relay.example"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCertificate:
    return ThrowawayCertificate.create(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture(scope="module")
def starttls_relay(certificate: ThrowawayCertificate) -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver(tls="starttls", certificate=certificate, login=LOGIN, password=PASSWORD)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def tls_relay(certificate: ThrowawayCertificate) -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver(tls="tls", certificate=certificate, login=LOGIN, password=PASSWORD)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def plain_relay() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def email_settings(
    settings: Settings, relay: SmtpReceiver, certificate: ThrowawayCertificate, **changes: object
) -> Settings:
    base = msgspec.structs.replace(
        settings,
        webhook_url=None,
        smtp_host="127.0.0.1",
        smtp_port=relay.port,
        smtp_tls="starttls",
        smtp_username=LOGIN,
        smtp_password=PASSWORD,
        smtp_ca_file=str(certificate.cert_path),
        outbox_max_attempts=2,
    )
    return msgspec.structs.replace(base, **changes)


async def send_one(db: Database, settings: Settings, *, clock: FakeClock | None = None) -> OutboxEntry:
    """Enqueue one email and run the worker over it until it is sent or dead, moving the clock past each
    backoff; every attempt is real (connection, TLS, commands)."""
    order_id = await create_order(db, email="tls@example.com", locale="en")
    event = await enqueue(db, "door_drop.completed", {"orderId": order_id}, channels=("email",))
    key = dedupe_key(event, "email")
    clock = clock or FakeClock()
    async with open_channels(settings) as channels:
        outbox_worker = worker(db, settings, channels, clock)
        for _ in range(settings.outbox_max_attempts):
            await outbox_worker.run_once()
            entry = (await rows(db, event))[key]
            if entry.status != "pending":
                return entry
            clock.advance_to(entry.next_attempt_at)
    return (await rows(db, event))[key]


async def test_starttls_with_auth_delivers(
    db: Database, settings: Settings, starttls_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    entry = await send_one(db, email_settings(settings, starttls_relay, certificate))

    assert (entry.status, entry.attempts, entry.last_error) == ("sent", 1, None)
    [message] = starttls_relay.messages_for(entry.dedupe_key)
    assert message["To"] == "tls@example.com"
    assert starttls_relay.accounts is not None
    assert starttls_relay.accounts.refused == 0


async def test_implicit_tls_with_auth_delivers(
    db: Database, settings: Settings, tls_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    entry = await send_one(db, email_settings(settings, tls_relay, certificate, smtp_tls="tls"))

    assert (entry.status, entry.attempts) == ("sent", 1)
    assert len(tls_relay.messages_for(entry.dedupe_key)) == 1


async def test_a_wrong_password_dead_letters_at_once_naming_the_login(
    db: Database, settings: Settings, starttls_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    wrong = email_settings(settings, starttls_relay, certificate, smtp_password="Tr0ub4dor&3")
    entry = await send_one(db, wrong)

    # 535 is permanent: retrying a wrong password only gets the account locked.
    assert (entry.status, entry.attempts) == ("dead", 1)
    assert entry.last_error == "gave up after 1 attempt(s): smtp login answered 535"
    assert starttls_relay.messages_for(entry.dedupe_key) == []


async def test_a_plain_client_at_a_tls_only_port_dead_letters_within_the_timeouts(
    db: Database, settings: Settings, tls_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    # Each side waits for the other to speak first (greeting vs TLS hello): only the timeout ends it.
    for mode in ("starttls", "none"):
        credentials: dict[str, object] = (
            {} if mode == "starttls" else {"smtp_username": None, "smtp_password": None}
        )
        misconfigured = email_settings(
            settings,
            tls_relay,
            certificate,
            smtp_tls=mode,
            smtp_timeout_s=0.5,
            smtp_send_timeout_s=1.0,
            **credentials,
        )
        started = time.monotonic()
        entry = await send_one(db, misconfigured)
        elapsed = time.monotonic() - started

        assert (entry.status, entry.attempts) == ("dead", 2), mode
        assert entry.last_error == (
            "gave up after 2 attempt(s): smtp timed out at connect (SMTP_TIMEOUT_S=0.5, SMTP_SEND_TIMEOUT_S=1); "
            "an implicit-TLS port (465) needs SMTP_TLS=tls"
        )
        # Two attempts of at most 0.5 s each, plus the database work; far from the 60 s default.
        assert elapsed < 2 * 0.5 + 3, elapsed
        assert tls_relay.messages_for(entry.dedupe_key) == []


async def test_a_relay_without_starttls_is_refused_rather_than_sent_in_clear(
    db: Database, settings: Settings, plain_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    entry = await send_one(db, email_settings(settings, plain_relay, certificate))

    assert (entry.status, entry.attempts) == ("dead", 1)
    assert entry.last_error == (
        "gave up after 1 attempt(s): smtp server does not offer STARTTLS (SMTP_TLS=starttls)"
    )
    assert plain_relay.messages_for(entry.dedupe_key) == []


async def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(
    db: Database, settings: Settings, starttls_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    system_cas_only = email_settings(settings, starttls_relay, certificate, smtp_ca_file=None)
    assert starttls_relay.accounts is not None
    refused_before = starttls_relay.accounts.refused
    entry = await send_one(db, system_cas_only)

    assert (entry.status, entry.attempts) == ("dead", 1)
    assert entry.last_error == "gave up after 1 attempt(s): smtp TLS failed at starttls (CERTIFICATE_VERIFY_FAILED)"
    assert starttls_relay.accounts.refused == refused_before
    assert starttls_relay.messages_for(entry.dedupe_key) == []


async def test_a_starttls_only_relay_refuses_a_plain_client_with_a_clear_code(
    db: Database, settings: Settings, starttls_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    plain = email_settings(
        settings, starttls_relay, certificate, smtp_tls="none", smtp_username=None, smtp_password=None
    )
    entry = await send_one(db, plain)

    # aiosmtpd answers MAIL with "530 Must issue a STARTTLS command first": permanent for this setting.
    assert (entry.status, entry.attempts) == ("dead", 1)
    assert entry.last_error == "gave up after 1 attempt(s): smtp send answered 530"


BASE_ENV = {"DATABASE_URL": "postgresql://x/y", "S3_BUCKET": "b", "JWT_SECRET": "j" * 32}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SMTP_TLS": "ssl"}, "SMTP_TLS"),
        ({"SMTP_TLS": "STARTTLS"}, "SMTP_TLS"),
        ({"SMTP_USERNAME": LOGIN}, "SMTP_PASSWORD"),
        ({"SMTP_PASSWORD": PASSWORD}, "SMTP_USERNAME"),
        ({"SMTP_USERNAME": LOGIN, "SMTP_PASSWORD": PASSWORD, "SMTP_TLS": "none"}, "SMTP_TLS"),
        ({"SMTP_TIMEOUT_S": "0"}, "SMTP_TIMEOUT_S"),
        ({"SMTP_TIMEOUT_S": "inf"}, "SMTP_TIMEOUT_S"),
        ({"SMTP_SEND_TIMEOUT_S": "5"}, "SMTP_SEND_TIMEOUT_S"),
        ({"SMTP_PORT": "-1"}, "SMTP_PORT"),
    ],
)
def test_bad_smtp_settings_stop_the_start_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(BASE_ENV | env)
    assert raised.value.variable == variable
    assert PASSWORD not in str(raised.value)


def test_smtp_settings_default_to_starttls_on_its_port_and_read_every_variable() -> None:
    assert load_settings(BASE_ENV).smtp_tls == "starttls"
    loaded = load_settings(
        BASE_ENV
        | {
            "SMTP_HOST": "smtp.example",
            "SMTP_TLS": "tls",
            "SMTP_USERNAME": LOGIN,
            "SMTP_PASSWORD": PASSWORD,
            "SMTP_CA_FILE": "/etc/relay-ca.pem",
            "SMTP_TIMEOUT_S": "5",
            "SMTP_SEND_TIMEOUT_S": "30",
        }
    )
    assert (loaded.smtp_tls, loaded.smtp_username, loaded.smtp_password) == ("tls", LOGIN, PASSWORD)
    assert (loaded.smtp_ca_file, loaded.smtp_timeout_s, loaded.smtp_send_timeout_s) == (
        "/etc/relay-ca.pem",
        5.0,
        30.0,
    )
    assert loaded.smtp_port is None  # the channel then uses 465 for tls, 587 for starttls, 25 for none


async def test_an_unreadable_ca_file_stops_the_start(settings: Settings, tmp_path: Path) -> None:
    missing = msgspec.structs.replace(settings, smtp_host="127.0.0.1", smtp_ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError) as raised:
        async with open_channels(missing):
            pass
    assert raised.value.variable == "SMTP_CA_FILE"


async def test_an_implicit_tls_client_at_a_plain_port_fails_the_handshake_at_once(
    db: Database, settings: Settings, plain_relay: SmtpReceiver, certificate: ThrowawayCertificate
) -> None:
    tls_at_plain = email_settings(
        settings, plain_relay, certificate, smtp_tls="tls", smtp_username=None, smtp_password=None
    )
    started = time.monotonic()
    entry = await send_one(db, tls_at_plain)

    # The server's plain greeting is not a TLS record: refused in the handshake, not after a timeout.
    assert time.monotonic() - started < tls_at_plain.smtp_timeout_s
    assert (entry.status, entry.attempts) == ("dead", 2)
    assert entry.last_error == "gave up after 2 attempt(s): smtp TLS failed at connect (WRONG_VERSION_NUMBER)"
    assert plain_relay.messages_for(entry.dedupe_key) == []
