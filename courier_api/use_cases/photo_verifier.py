"""Runs photo verification off the event loop, in a pool sized on purpose.

A process pool by default: the pipeline's native parts release the GIL, but its Python parts do
not, and the event loop must keep answering (health checks, other couriers) while the CPU is
saturated. Handing a 2-3 MB photo to a process costs ~6 ms (FACTS.md), small next to verification.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Literal

from photo_pipeline import Expectations, PhotoLimits, Verdict, verify

PoolKind = Literal["process", "thread"]


class PhotoVerifier:
    def __init__(self, *, workers: int, kind: PoolKind = "process") -> None:
        self._executor: Executor
        self._workers = workers
        if kind == "process":
            # forkserver: never fork a process that runs an event loop and holds sockets.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        else:
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify")

    async def warm_up(self) -> None:
        """Start every worker and import the pipeline there now, not on the first courier's upload."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, _warm) for _ in range(self._workers)))

    async def verify(self, data: bytes, expectations: Expectations, limits: PhotoLimits) -> Verdict:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, verify, data, expectations, limits)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _warm() -> int:
    # Importing the pipeline (numpy, Pillow, zxing, scipy) costs about a second per process.
    import photo_pipeline  # noqa: F401, PLC0415

    return os.getpid()
