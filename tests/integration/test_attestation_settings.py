"""Device attestation settings fail fast naming the variable; serve requires an app to attest, dev defaults off."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from courier_api.app import create_app
from courier_api.cli import _dev_settings
from courier_api.components.attestation import DeviceVerifier
from infra.devstack import DevStack
from infra.errors import ConfigError
from infra.settings import Settings, load_settings
from infra.storage import ObjectStore

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from courier_api.cli import main; raise SystemExit(main())"]
BASE_ENV = {"DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "S3_BUCKET": "b", "JWT_SECRET": "s" * 40}
CERT = "ab" * 32
APP = {"ANDROID_APP_PACKAGES": "ru.doordrop.courier", "ANDROID_APP_SIGNING_CERT_SHA256": CERT}


@pytest.mark.parametrize(
    ("variable", "value", "extra"),
    [
        ("DEVICE_ATTESTATION", "maybe", {}),
        ("ANDROID_MIN_SECURITY_LEVEL", "software", {}),
        ("ANDROID_ALLOW_UNVERIFIED_BOOT", "perhaps", {}),
        ("APPLE_APP_ATTEST_ENVIRONMENT", "staging", {}),
        ("ANDROID_APP_SIGNING_CERT_SHA256", "not-hex", {}),
        ("ANDROID_APP_SIGNING_CERT_SHA256", "ab" * 31, {}),
        ("APPLE_APP_IDS", "ru.doordrop.courier", {}),
        # A package without the certificate that must sign it: anyone could name the package.
        ("ANDROID_APP_SIGNING_CERT_SHA256", "", {"ANDROID_APP_PACKAGES": "ru.doordrop.courier"}),
    ],
)
def test_bad_attestation_values_stop_the_start_naming_the_variable(
    variable: str, value: str, extra: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(BASE_ENV | extra | ({variable: value} if value else {}))
    assert caught.value.variable == variable


def test_lists_and_flags_are_read_from_the_environment() -> None:
    settings = load_settings(
        BASE_ENV
        | APP
        | {
            "ANDROID_APP_PACKAGES": "ru.doordrop.courier, ru.doordrop.courier.beta",
            "ANDROID_APP_SIGNING_CERT_SHA256": ":".join(["AB"] * 32),
            "ANDROID_ALLOW_UNVERIFIED_BOOT": "true",
            "ANDROID_MIN_SECURITY_LEVEL": "strongbox",
            "APPLE_APP_IDS": "ABCDE12345.ru.doordrop.courier",
            "APPLE_APP_ATTEST_ENVIRONMENT": "development",
        }
    )
    assert settings.device_attestation == "required"
    assert settings.android_app_packages == ("ru.doordrop.courier", "ru.doordrop.courier.beta")
    assert settings.signing_cert_digests == {b"\xab" * 32}
    assert settings.android_allow_unverified_boot is True
    assert settings.android_min_security_level == "strongbox"
    assert settings.apple_app_ids == ("ABCDE12345.ru.doordrop.courier",)
    DeviceVerifier.from_settings(settings)


def test_unreadable_attestation_files_stop_the_start_naming_the_variable(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    not_json = tmp_path / "status.json"
    not_json.write_text("{entries")
    missing = str(tmp_path / "missing.pem")
    for variable, value in (
        ("ANDROID_ATTESTATION_ROOTS", missing),
        ("ANDROID_ATTESTATION_ROOTS", str(garbage)),
        ("APPLE_ATTESTATION_ROOTS", missing),
        ("ANDROID_ATTESTATION_STATUS_FILE", missing),
        ("ANDROID_ATTESTATION_STATUS_FILE", str(not_json)),
    ):
        with pytest.raises(ConfigError) as caught:
            DeviceVerifier.from_settings(load_settings(BASE_ENV | APP | {variable: value}))
        assert caught.value.variable == variable, (variable, value)


def test_required_attestation_without_an_app_stops_the_start() -> None:
    settings = load_settings(BASE_ENV)
    assert settings.device_attestation == "required"  # the production default
    with pytest.raises(ConfigError) as caught:
        DeviceVerifier.from_settings(settings)
    assert caught.value.variable == "DEVICE_ATTESTATION"
    assert not DeviceVerifier.from_settings(load_settings(BASE_ENV | {"DEVICE_ATTESTATION": "off"})).required


def test_serve_refuses_to_start_naming_the_attestation_variables() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in BASE_ENV and not k.startswith(("ANDROID_", "APPLE_"))
    }
    env.pop("DEVICE_ATTESTATION", None)
    result = subprocess.run(
        [*CLI, "serve", "--port", "1"],
        env=env | BASE_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    for name in (
        "DEVICE_ATTESTATION",
        "ANDROID_APP_PACKAGES",
        "ANDROID_APP_SIGNING_CERT_SHA256",
        "APPLE_APP_IDS",
    ):
        assert name in result.stderr


def test_dev_defaults_to_off_and_honours_the_variables() -> None:
    where = {
        "database_url": "postgresql://u@127.0.0.1:1/db",
        "s3_endpoint_url": "http://s3",
        "public_base_url": "x",
    }
    assert _dev_settings(**where, environ={}).device_attestation == "off"
    production_like = _dev_settings(
        **where,
        environ=APP
        | {"DEVICE_ATTESTATION": "required", "ANDROID_ALLOW_UNVERIFIED_BOOT": "true", "JWT_SECRET": "x"},
    )
    assert production_like.device_attestation == "required"
    assert production_like.android_app_packages == ("ru.doordrop.courier",)
    assert production_like.android_allow_unverified_boot is True
    with pytest.raises(ConfigError) as caught:
        _dev_settings(**where, environ={"ANDROID_MIN_SECURITY_LEVEL": "software"})
    assert caught.value.variable == "ANDROID_MIN_SECURITY_LEVEL"


async def test_off_logs_a_warning_at_start(
    settings: Settings, dev_stack: DevStack, store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        msgspec.structs.replace(settings, device_attestation="off"), s3_credentials=dev_stack.s3_credentials
    )
    with caplog.at_level(logging.WARNING, logger="courier_api.app"):
        async with AsyncTestClient(app=app):
            pass
    assert any("DEVICE_ATTESTATION=off" in record.getMessage() for record in caplog.records)
