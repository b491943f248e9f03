"""Shared fixtures for the photo pipeline: the session the default synthetic photo proves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from photo_pipeline import Expectations, PhotoLimits
from tests.photo_factory import DEFAULT_ADDRESS, DEFAULT_CAPTURED_AT, DEFAULT_LABEL_CODE, DEFAULT_NONCE


@pytest.fixture(scope="session")
def expectations() -> Expectations:
    return Expectations(
        nonce=DEFAULT_NONCE,
        label_code=DEFAULT_LABEL_CODE,
        session_opened_at=DEFAULT_CAPTURED_AT - timedelta(minutes=10),
        session_expires_at=DEFAULT_CAPTURED_AT + timedelta(minutes=20),
        now=DEFAULT_CAPTURED_AT + timedelta(minutes=1),
        address_lat=DEFAULT_ADDRESS[0],
        address_lon=DEFAULT_ADDRESS[1],
    )


@pytest.fixture(scope="session")
def limits() -> PhotoLimits:
    return PhotoLimits()
