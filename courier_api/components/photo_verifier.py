"""Runs photo verification off the event loop, in a pool sized on purpose.

Either pool kind (`VERIFY_POOL`, default thread): a process pool keeps the pipeline's Python parts off the event
loop's GIL, at the price of pickling the photo there and the verdict (with the customer copy)
back; a thread pool hands the bytes over for free and relies on the pipeline's native parts
(libjpeg-turbo, Pillow, zxing-cpp, numpy) releasing the GIL, and holds one copy of the libraries
instead of one per worker; hence the default. `python -m bench` prints CPU per photo and `/health`
latency under upload load for whichever kind it runs (`--env VERIFY_POOL=process` for the other):
the figures live in its output, not here, because they drift with the machine.

Either way the verification workers run at a lower CPU priority (`VERIFY_NICENESS`, Linux
niceness, per process or per thread) than the event loop: when uploads saturate the CPU, the
loop (health checks, eligibility checks, the upload's own I/O) still gets a core at once, and
verification takes whatever is left. The work done is the same, only who waits changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from concurrent.futures.thread import BrokenThreadPool
from typing import Final, Literal

from courier_api import metrics
from courier_api.errors import TemporarilyUnavailable
from photo_pipeline import Expectations, PhotoLimits, Verdict, verify

BrokenExecutor = (BrokenProcessPool, BrokenThreadPool)

PoolKind = Literal["process", "thread"]
# Niceness 10 weighs a runnable worker at ~1/10 of a default-priority one (CFS weights 110 vs 1024).
VERIFY_NICENESS: Final = 10


class PhotoVerifier:
    def __init__(self, *, workers: int, kind: PoolKind = "thread") -> None:
        self._executor: Executor
        self._workers = workers
        self._kind = kind
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        workers = self._workers
        if self._kind == "process":
            # forkserver: never fork a process that runs an event loop and holds sockets.
            context = multiprocessing.get_context("forkserver")
            return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_lower_priority)
        return ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="verify", initializer=_lower_priority
        )

    async def warm_up(self) -> None:
        """Start every worker and import the pipeline there now, not on the first courier's upload."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, _warm) for _ in range(self._workers)))

    async def verify(
        self, data: bytes, expectations: Expectations, limits: PhotoLimits, *, sha256: str | None = None
    ) -> Verdict:
        loop = asyncio.get_running_loop()
        executor = self._executor
        call = functools.partial(_verify_with_stages, data, expectations, limits, sha256)
        started = time.perf_counter()
        try:
            verdict, stage_cpu = await loop.run_in_executor(executor, call)
        except BrokenExecutor as exc:
            # A worker process died (killed, or a crash in native code): the pool refuses all work
            # from now on. Replace it once and let the courier retry; nothing was stored.
            if self._executor is executor:
                self._executor = self._new_executor()
                executor.shutdown(wait=False, cancel_futures=True)
            raise TemporarilyUnavailable(
                "photo verification restarted; retry the upload", retry_after_s=2
            ) from exc
        metrics.observe_verification(time.perf_counter() - started)
        metrics.observe_verification_stages(stage_cpu)
        return verdict

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority() -> None:
    # On Linux niceness belongs to the thread (the kernel task), so this lowers only the worker
    # calling it: the whole process in a process pool, one thread in a thread pool.
    with contextlib.suppress(OSError, AttributeError):  # not permitted, or not Linux: run as is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), VERIFY_NICENESS)


class StageClock:
    """verify's `on_stage` hook: the worker thread's CPU seconds spent in each stage."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self._last = time.thread_time()

    def __call__(self, stage: str) -> None:
        now = time.thread_time()
        self.cpu[stage] = self.cpu.get(stage, 0.0) + now - self._last
        self._last = now


def _verify_with_stages(
    data: bytes, expectations: Expectations, limits: PhotoLimits, sha256: str | None
) -> tuple[Verdict, dict[str, float]]:
    # Runs in the worker (a module-level function: a process pool pickles it by name). CPU time,
    # not wall time: a stage's share must not depend on how busy the machine was meanwhile.
    clock = StageClock()
    verdict = verify(data, expectations, limits, sha256=sha256, on_stage=clock)
    return verdict, clock.cpu


def _warm() -> int:
    # Importing the pipeline (numpy, Pillow, zxing, scipy) costs about a second per process.
    import photo_pipeline  # noqa: F401, PLC0415

    return os.getpid()
