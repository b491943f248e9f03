"""The verification pool survives a dead worker: the upload in flight is retried, later ones work."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime, timedelta

import pytest

from courier_api.components.photo_verifier import PhotoVerifier
from courier_api.errors import TemporarilyUnavailable
from photo_pipeline import Expectations, PhotoLimits
from tests.photo_factory import DEFAULT_ADDRESS, PhotoSpec, make_photo


async def test_a_killed_worker_process_gives_a_retryable_answer_and_a_fresh_pool() -> None:
    now = datetime.now(UTC)
    expectations = Expectations(
        nonce="n",
        label_code="L",
        session_opened_at=now - timedelta(minutes=5),
        session_expires_at=now + timedelta(hours=1),
        now=now,
        address_lat=DEFAULT_ADDRESS[0],
        address_lon=DEFAULT_ADDRESS[1],
    )
    photo = make_photo(PhotoSpec(width=1600, height=1200, nonce="n", label_text="L", captured_at=now))
    verifier = PhotoVerifier(workers=1, kind="process")
    try:
        await verifier.warm_up()
        loop = asyncio.get_running_loop()
        worker_pid = await loop.run_in_executor(verifier._executor, os.getpid)
        os.kill(worker_pid, signal.SIGKILL)
        with pytest.raises(TemporarilyUnavailable) as refused:
            await verifier.verify(photo, expectations, PhotoLimits())
        assert refused.value.retry_after_s > 0
        verdict = await verifier.verify(photo, expectations, PhotoLimits())
        assert verdict.check("provenance.nonce").passed
    finally:
        verifier.close()
