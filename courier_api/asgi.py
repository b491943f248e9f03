"""Entry point for ASGI servers in production: settings come from the environment only."""

from __future__ import annotations

import os

from litestar import Litestar

from courier_api.app import create_app
from courier_api.logging_setup import configure_logging
from infra.settings import Settings, load_settings
from infra.storage import ObjectStore


def app_from_environment() -> Litestar:
    """Factory for `uvicorn --factory`: each worker process builds its own app."""
    settings = load_settings(os.environ)
    configure_logging(settings.log_level)
    credentials = _explicit_s3_credentials()
    return create_app(settings, s3_credentials=credentials)


def _explicit_s3_credentials() -> tuple[str, str] | None:
    # Normally boto3's chain finds credentials itself; the dev stack passes them explicitly.
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    return (key, secret) if key and secret else None


def store_from_environment(settings: Settings) -> ObjectStore:
    """The evidence bucket, for commands that run outside the app (worker, jobs)."""
    return ObjectStore.for_settings(settings, _explicit_s3_credentials())
