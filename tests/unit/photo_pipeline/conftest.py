"""Shared fixtures for the photo pipeline: the session the default synthetic photo proves."""

from __future__ import annotations

import pytest

from infra.devstack.doorstep_photo import default_expectations
from photo_pipeline import Expectations, PhotoLimits


@pytest.fixture(scope="session")
def expectations() -> Expectations:
    return default_expectations()


@pytest.fixture(scope="session")
def limits() -> PhotoLimits:
    return PhotoLimits()
