"""Settings: a frozen struct converted from the environment at start-up.

A missing or invalid value stops the start with the variable's name (ConfigError).
Nothing here runs at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from infra.channels.webhook import decode_secret
from infra.errors import ConfigError

PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
# SHA-256 of the app's signing certificate, as `apksigner verify --print-certs` or the Play Console show it
# (hex, colons allowed).
_CERT_DIGEST = re.compile(r"\A(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}\Z")
# TEAMID.bundle.id: a ten-character team id, then the bundle id.
_APPLE_APP_ID = re.compile(r"\A[A-Z0-9]{10}\.[A-Za-z0-9.-]+\Z")
# Variables that configure device attestation (issue 13); `courier-api dev` honours them when set.
ATTESTATION_VARIABLES = (
    "DEVICE_ATTESTATION",
    "ANDROID_ATTESTATION_ROOTS",
    "ANDROID_ATTESTATION_STATUS_FILE",
    "ANDROID_MIN_SECURITY_LEVEL",
    "ANDROID_APP_PACKAGES",
    "ANDROID_APP_SIGNING_CERT_SHA256",
    "ANDROID_ALLOW_UNVERIFIED_BOOT",
    "APPLE_ATTESTATION_ROOTS",
    "APPLE_APP_IDS",
    "APPLE_APP_ATTEST_ENVIRONMENT",
)
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    s3_bucket: str
    jwt_secret: Annotated[str, msgspec.Meta(min_length=32)]
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    db_pool_min: PositiveInt = 2
    db_pool_max: PositiveInt = 10
    max_json_body_bytes: PositiveInt = 1_000_000
    max_photo_bytes: PositiveInt = 15_000_000
    max_photo_pixels: PositiveInt = 50_000_000
    # The whole photo body must arrive within this many seconds of the handler asking for it; a total
    # deadline (not an idle timeout), so a trickle of bytes cannot stretch it. 15 MB in 30 s is 4 Mbit/s.
    # At most an hour: "inf" or a typo of zeros would switch the bound off without a word.
    upload_body_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0
    capture_session_ttl_s: PositiveInt = 12 * 3600
    capture_clock_skew_s: PositiveInt = 120
    # A photo may reach the server this long after its session expired (couriers on flaky networks
    # queue uploads); later ones are refused, so a late upload cannot backdate a drop.
    capture_upload_grace_s: PositiveInt = 3600
    gps_radius_m: PositiveFloat = 150.0
    label_min_share: Fraction = 0.02
    label_max_share: Fraction = 0.15
    verify_workers: PositiveInt = 2
    # "thread" hands the photo over without pickling and keeps one copy of the native libraries (why:
    # courier_api/components/photo_verifier.py; `python -m bench --env VERIFY_POOL=process` compares the
    # two); "process" isolates native crashes from the API process.
    verify_pool: Literal["process", "thread"] = "thread"
    photo_url_ttl_s: PositiveInt = 300
    # Notification links sign the customer in, view-only, on one order's page. A day covers "read it
    # the next morning" while a forwarded or leaked message stops working soon; claims need a full sign-in.
    link_token_ttl_s: PositiveInt = 24 * 3600
    claim_window_days: PositiveInt = 14
    evidence_retention_days: PositiveInt = 180
    # Who viewed which evidence outlives the evidence (claims and disputes come after it is gone).
    audit_retention_days: PositiveInt = 3 * 365
    # How long an upload's Idempotency-Key replays its first answer. It must cover the longest an upload
    # can still be retried (session lifetime + upload grace, 13 h by default); past it the key is forgotten.
    idempotency_replay_hours: PositiveInt = 48
    # Delivered (sent) and skipped notifications are dropped after this; dead letters stay for support.
    outbox_retention_days: PositiveInt = 30
    # Rows per delete statement of the hourly purges: each batch is one short transaction.
    housekeeping_batch_rows: Annotated[int, msgspec.Meta(gt=0, le=100_000)] = 5_000
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    # Notifications (outbox worker). A channel without its settings is skipped, never an error.
    webhook_url: str | None = None
    # Standard Webhooks `whsec_` secrets, all active: each request carries one signature per secret, so a
    # rotation adds the new one, waits for the receiver to switch, then drops the old one.
    webhook_secrets: tuple[str, ...] = ()
    smtp_host: str | None = None
    # None: the registered port of SMTP_TLS (587 starttls, 465 tls, 25 none).
    smtp_port: PositiveInt | None = None
    smtp_from: str = "no-reply@door-drop.local"
    # STARTTLS by default: a relay that does not offer it is refused rather than sent the mail in clear.
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    # PEM file of the CAs to trust for the relay instead of the system's (a relay with a private CA).
    smtp_ca_file: str | None = None
    # Each step (connect and greeting, TLS handshake, each command), and the whole conversation: a server
    # that accepts and then stays silent costs one bounded attempt. At most 10 minutes: "inf" or a typo
    # of zeros would switch the bound off without a word.
    smtp_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    smtp_send_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 60.0
    outbox_max_attempts: PositiveInt = 8
    outbox_backoff_base_s: PositiveFloat = 2.0
    outbox_backoff_max_s: PositiveFloat = 600.0
    outbox_poll_interval_s: PositiveFloat = 1.0
    # How long a claimed row stays with its worker; a worker that dies gives it back after this.
    outbox_lease_s: PositiveFloat = 120.0
    # Prometheus `/metrics`: on a port of its own (not the API's), and/or behind a bearer token on any
    # port. Neither set: `/metrics` answers 404 like any unknown path. The metrics port binds to
    # METRICS_HOST only, loopback by default: a scraper on another machine needs a private address.
    metrics_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] | None = None
    metrics_host: str = "127.0.0.1"
    metrics_token: Annotated[str, msgspec.Meta(min_length=24)] | None = None
    # Device attestation (issue 13). `required`: devices enroll only with Android Key Attestation or App
    # Attest; `off`: bare Ed25519 keys too, marked `none` (the demo; `courier-api dev` defaults to it).
    device_attestation: Literal["required", "off"] = "required"
    # PEM files of extra roots trusted beside the shipped Google / Apple ones (a test or private PKI).
    android_attestation_roots: str | None = None
    apple_attestation_roots: str | None = None
    # Google's attestation status list (JSON, the published format); revoked and suspended serials refused.
    android_attestation_status_file: str | None = None
    android_min_security_level: Literal["tee", "strongbox"] = "tee"
    android_app_packages: tuple[str, ...] = ()
    android_app_signing_cert_sha256: tuple[str, ...] = ()
    # Development phones only: an unlocked bootloader or an unverified boot (never a failed one).
    android_allow_unverified_boot: bool = False
    apple_app_ids: tuple[str, ...] = ()
    apple_app_attest_environment: Literal["production", "development"] = "production"

    def __post_init__(self) -> None:
        # Values that are each valid but wrong together; also checked when tests build Settings directly.
        if (self.smtp_username is None) != (self.smtp_password is None):
            missing = "SMTP_PASSWORD" if self.smtp_password is None else "SMTP_USERNAME"
            raise ConfigError(missing, "is required when the other of SMTP_USERNAME/SMTP_PASSWORD is set")
        if self.smtp_password is not None and self.smtp_tls == "none":
            raise ConfigError(
                "SMTP_TLS", "is none, which would send SMTP_PASSWORD in clear; use starttls or tls"
            )
        if self.smtp_send_timeout_s < self.smtp_timeout_s:
            raise ConfigError("SMTP_SEND_TIMEOUT_S", "must be at least SMTP_TIMEOUT_S")
        if self.audit_retention_days <= self.evidence_retention_days:
            raise ConfigError("AUDIT_RETENTION_DAYS", "must be longer than EVIDENCE_RETENTION_DAYS")
        if self.idempotency_replay_hours * 3600 < self.capture_session_ttl_s + self.capture_upload_grace_s:
            raise ConfigError(
                "IDEMPOTENCY_REPLAY_HOURS",
                "must cover CAPTURE_SESSION_TTL_S + CAPTURE_UPLOAD_GRACE_S (a retried upload would be refused)",
            )
        for position, secret in enumerate(self.webhook_secrets, start=1):
            try:
                decode_secret(secret)
            except ValueError as exc:
                # The position, never the value: start-up errors end up in logs.
                raise ConfigError("WEBHOOK_SECRETS", f"secret #{position} is not valid: {exc}") from None
        for digest in self.android_app_signing_cert_sha256:
            if not _CERT_DIGEST.match(digest):
                raise ConfigError(
                    "ANDROID_APP_SIGNING_CERT_SHA256",
                    f"{digest!r} is not a SHA-256 in hex (64 hex digits, colons allowed)",
                )
        if self.android_app_packages and not self.android_app_signing_cert_sha256:
            raise ConfigError(
                "ANDROID_APP_SIGNING_CERT_SHA256",
                "is required with ANDROID_APP_PACKAGES: a package name alone is anyone's to claim",
            )
        for app_id in self.apple_app_ids:
            if not _APPLE_APP_ID.match(app_id):
                raise ConfigError("APPLE_APP_IDS", f"{app_id!r} is not TEAMID.bundle.id")

    @property
    def signing_cert_digests(self) -> frozenset[bytes]:
        """ANDROID_APP_SIGNING_CERT_SHA256 as raw digests."""
        return frozenset(bytes.fromhex(d.replace(":", "")) for d in self.android_app_signing_cert_sha256)


def require_attestation_configured(settings: Settings) -> None:
    """With DEVICE_ATTESTATION=required, at least one platform must name our app; else stop the start."""
    if settings.device_attestation == "required" and not (
        settings.android_app_packages or settings.apple_app_ids
    ):
        raise ConfigError(
            "DEVICE_ATTESTATION",
            "is required (the default for serve) but neither ANDROID_APP_PACKAGES (with "
            "ANDROID_APP_SIGNING_CERT_SHA256) nor APPLE_APP_IDS is set: no courier app could enroll. "
            "Set them, or DEVICE_ATTESTATION=off to accept unattested keys",
        )


# Environment variable -> settings field. Only these are read; everything else has a default.
_ENV_FIELDS: dict[str, str] = {
    "DATABASE_URL": "database_url",
    "S3_BUCKET": "s3_bucket",
    "S3_ENDPOINT_URL": "s3_endpoint_url",
    "AWS_REGION": "s3_region",
    "JWT_SECRET": "jwt_secret",
    "JWT_ISSUER": "jwt_issuer",
    "JWT_AUDIENCE": "jwt_audience",
    "DB_POOL_MIN": "db_pool_min",
    "DB_POOL_MAX": "db_pool_max",
    "MAX_PHOTO_BYTES": "max_photo_bytes",
    "MAX_PHOTO_PIXELS": "max_photo_pixels",
    "UPLOAD_BODY_TIMEOUT_S": "upload_body_timeout_s",
    "CAPTURE_SESSION_TTL_S": "capture_session_ttl_s",
    "CAPTURE_CLOCK_SKEW_S": "capture_clock_skew_s",
    "CAPTURE_UPLOAD_GRACE_S": "capture_upload_grace_s",
    "GPS_RADIUS_M": "gps_radius_m",
    "LABEL_MIN_SHARE": "label_min_share",
    "LABEL_MAX_SHARE": "label_max_share",
    "VERIFY_WORKERS": "verify_workers",
    "VERIFY_POOL": "verify_pool",
    "PHOTO_URL_TTL_S": "photo_url_ttl_s",
    "LINK_TOKEN_TTL_S": "link_token_ttl_s",
    "CLAIM_WINDOW_DAYS": "claim_window_days",
    "EVIDENCE_RETENTION_DAYS": "evidence_retention_days",
    "AUDIT_RETENTION_DAYS": "audit_retention_days",
    "IDEMPOTENCY_REPLAY_HOURS": "idempotency_replay_hours",
    "OUTBOX_RETENTION_DAYS": "outbox_retention_days",
    "HOUSEKEEPING_BATCH_ROWS": "housekeeping_batch_rows",
    "PUBLIC_BASE_URL": "public_base_url",
    "LOG_LEVEL": "log_level",
    "WEBHOOK_URL": "webhook_url",
    "WEBHOOK_SECRETS": "webhook_secrets",
    "SMTP_HOST": "smtp_host",
    "SMTP_PORT": "smtp_port",
    "SMTP_FROM": "smtp_from",
    "SMTP_TLS": "smtp_tls",
    "SMTP_USERNAME": "smtp_username",
    "SMTP_PASSWORD": "smtp_password",
    "SMTP_CA_FILE": "smtp_ca_file",
    "SMTP_TIMEOUT_S": "smtp_timeout_s",
    "SMTP_SEND_TIMEOUT_S": "smtp_send_timeout_s",
    "OUTBOX_MAX_ATTEMPTS": "outbox_max_attempts",
    "OUTBOX_BACKOFF_BASE_S": "outbox_backoff_base_s",
    "OUTBOX_BACKOFF_MAX_S": "outbox_backoff_max_s",
    "OUTBOX_POLL_INTERVAL_S": "outbox_poll_interval_s",
    "OUTBOX_LEASE_S": "outbox_lease_s",
    "METRICS_PORT": "metrics_port",
    "METRICS_HOST": "metrics_host",
    "METRICS_TOKEN": "metrics_token",
    **{name: name.lower() for name in ATTESTATION_VARIABLES},
}
_FIELD_TO_ENV = {field: env for env, field in _ENV_FIELDS.items()}
_REQUIRED = ("DATABASE_URL", "S3_BUCKET", "JWT_SECRET")
# Lists in one variable, separated by spaces or commas (neither occurs in base64).
_LIST_FIELDS = frozenset(
    {"webhook_secrets", "android_app_packages", "android_app_signing_cert_sha256", "apple_app_ids"}
)
# Variables that changed meaning: ignoring them would leave a channel silently unsigned or unconfigured.
_REPLACED = {
    "WEBHOOK_SECRET": "was replaced by WEBHOOK_SECRETS (Standard Webhooks whsec_ secrets); see the README's "
    "'Webhook signatures' section for the migration",
}


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables; fail fast naming the variable."""
    for name in _REQUIRED:
        if not environ.get(name):
            raise ConfigError(name, "is required but not set")
    for name, problem in _REPLACED.items():
        if environ.get(name):
            raise ConfigError(name, problem)
    raw: dict[str, str | list[str]] = {
        field: environ[env] for env, field in _ENV_FIELDS.items() if environ.get(env)
    }
    for field in _LIST_FIELDS & raw.keys():
        value = raw[field]
        assert isinstance(value, str)
        raw[field] = value.replace(",", " ").split()
    try:
        # strict=False lets "10" become 10: environment values are always strings.
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_variable_in(str(exc)), str(exc)) from exc


def _variable_in(message: str) -> str:
    # msgspec reports the path as `$.field_name`; map it back to the variable the operator set.
    for field, env in _FIELD_TO_ENV.items():
        if f"`$.{field}`" in message:
            return env
    return "environment"
