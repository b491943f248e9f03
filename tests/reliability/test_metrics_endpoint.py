"""`GET /metrics` of a real `courier-api serve --workers 2` and of a real `courier-api worker`.

Two processes write their values to the multiprocess directory the CLI made; whichever answers a
scrape must show both. The door drop goes over HTTP; the counters are compared before and after,
so whatever other requests the processes served (readiness polls) cannot make the test pass.
Ids must never reach a label: the route label is the template. Without a token (or with a wrong
one) the answer is 401; an app configured without metrics answers 404, like any unknown path.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import generate_latest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from courier_api.metrics import Metrics
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.settings import Settings
from tests.api.capture_flow import door_drop
from tests.conftest import AuthHeaders
from tests.processes import service_env, start_api, start_worker, stop

pytestmark = pytest.mark.slow

UPLOAD_ROUTE = "/v1/deliveries/{order_id}/photos"
DEADLINE_S = 30.0
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass(frozen=True)
class MeteredApi:
    base_url: str
    metrics_url: str
    worker_metrics_url: str
    token: str
    api: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def metered(
    live_settings: Settings, dev_stack: DevStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MeteredApi]:
    """Two API workers with a metrics token and a metrics port, and one outbox worker with its own port."""
    token = secrets.token_urlsafe(32)
    port, metrics_port, worker_port = free_port(), free_port(), free_port()
    logs = tmp_path_factory.mktemp("metrics")
    env = service_env(
        live_settings,
        s3_credentials=dev_stack.s3_credentials,
        VERIFY_POOL="thread",
        VERIFY_WORKERS="1",
        DB_POOL_MIN="1",
        DB_POOL_MAX="3",
        METRICS_TOKEN=token,
        OUTBOX_POLL_INTERVAL_S="0.2",
    )
    api = start_api(env | {"METRICS_PORT": str(metrics_port)}, port, workers=2, log=logs / "api.log")
    worker = start_worker(env | {"METRICS_PORT": str(worker_port)}, log=logs / "worker.log")
    try:
        _wait_listening(f"http://127.0.0.1:{worker_port}/metrics", worker)
        yield MeteredApi(
            base_url=f"http://127.0.0.1:{port}",
            metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
            worker_metrics_url=f"http://127.0.0.1:{worker_port}/metrics",
            token=token,
            api=api,
        )
    finally:
        stop(worker)
        stop(api)
        _show_log_on_failure(logs)


def _wait_listening(url: str, process: subprocess.Popen[bytes]) -> None:
    """The worker has no readiness endpoint: poll its metrics port until it answers at all."""
    deadline = time.monotonic() + DEADLINE_S
    with httpx.Client(timeout=2.0) as client:
        while True:
            assert process.poll() is None, f"the worker exited with {process.returncode}"
            try:
                client.get(url)
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{url} not listening after {DEADLINE_S} s"
                time.sleep(0.05)  # poll interval
            else:
                return


def _show_log_on_failure(logs: Path) -> None:
    for log in logs.glob("*.log"):
        print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
async def http(metered: MeteredApi) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=metered.base_url, timeout=60.0) as client:
        yield client


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved_in(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return _value(after, name, **labels) - _value(before, name, **labels)


async def _scrape(client: httpx.AsyncClient, url: str, token: str) -> str:
    answer = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_metrics_refuse_callers_without_the_token(http: httpx.AsyncClient, metered: MeteredApi) -> None:
    missing = await http.get("/metrics")
    assert missing.status_code == 401, missing.text
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await http.get("/metrics", headers={"Authorization": f"Bearer {metered.token[:-1]}x"})
    assert wrong.status_code == 401
    on_metrics_port = await http.get(metered.metrics_url)
    assert on_metrics_port.status_code == 401  # a configured token is required on every port
    # The metrics port serves metrics only, never the API.
    api_on_metrics_port = await http.get(metered.metrics_url.replace("/metrics", "/health"))
    assert api_on_metrics_port.status_code == 404
    worker_without_token = await http.get(metered.worker_metrics_url)
    assert worker_without_token.status_code == 401


async def test_metrics_without_configuration_are_not_there(client: AsyncTestClient[Litestar]) -> None:
    answer = await client.get("/metrics")
    assert answer.status_code == 404


async def test_a_door_drop_moves_the_counters_of_both_workers(
    http: httpx.AsyncClient, metered: MeteredApi, auth: AuthHeaders
) -> None:
    before = _samples(await _scrape(http, "/metrics", metered.token))

    drop = await door_drop(http, auth)
    photo = await asyncio.to_thread(drop.photo)
    forged = base64.b64encode(bytes(64)).decode()
    rejected = await http.post(
        f"/v1/deliveries/{drop.order_id}/photos",
        content=photo,
        headers=drop.headers(auth, photo, signature=forged),
    )
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["verdict"] == "rejected"
    accepted = await http.post(
        f"/v1/deliveries/{drop.order_id}/photos", content=photo, headers=drop.headers(auth, photo)
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["verdict"] == "accepted"

    uploads = {"method": "POST", "route": UPLOAD_ROUTE, "status": "201"}
    # Each process adds its request tallies to the shared files every second: poll, with a deadline.
    deadline = time.monotonic() + DEADLINE_S
    while True:
        text = await _scrape(http, "/metrics", metered.token)
        after = _samples(text)
        if moved_in(before, after, "courier_http_request_duration_seconds_count", **uploads) >= 2:
            break
        assert time.monotonic() < deadline, "the upload requests never reached the request histogram"
        await asyncio.sleep(0.1)  # poll interval

    def moved(name: str, **labels: str) -> float:
        return moved_in(before, after, name, **labels)

    assert moved("courier_photo_verdicts_total", verdict="accepted") == 1
    assert moved("courier_photo_verdicts_total", verdict="rejected") == 1
    assert moved("courier_photo_failed_checks_total", code="provenance.signature") == 1
    assert moved("courier_photo_verification_seconds_count") == 2
    # Where verification spends, per stage, for the next person looking for a lever.
    for stage in ("open", "decode", "reduce", "label", "metrics", "copy", "fingerprint", "hashes", "checks"):
        assert moved("courier_photo_verification_stage_cpu_seconds_count", stage=stage) == 2, stage
    decode_cpu = moved("courier_photo_verification_stage_cpu_seconds_sum", stage="decode")
    assert 0 < decode_cpu < moved("courier_photo_verification_seconds_sum")
    assert moved("courier_http_request_duration_seconds_count", **uploads) == 2
    assert moved("courier_http_request_duration_seconds_bucket", le="+Inf", **uploads) == 2
    opened = {"method": "POST", "route": "/v1/deliveries/{order_id}/capture-sessions", "status": "201"}
    assert moved("courier_http_request_duration_seconds_count", **opened) == 1
    # Ids never become label values: the order id appears nowhere in the exposition.
    assert drop.order_id not in text
    assert drop.session_id not in text
    assert _value(after, "courier_photo_uploads_in_flight") == 0
    assert _value(after, "courier_db_pool_connections", state="max") >= 3  # at least one process's pool
    assert ("courier_outbox_dead_letters", frozenset()) in after

    # The metrics port shows the same files (any worker may answer there too).
    on_port = _samples(await _scrape(http, metered.metrics_url, metered.token))
    assert _value(on_port, "courier_photo_verdicts_total", verdict="accepted") >= _value(
        after, "courier_photo_verdicts_total", verdict="accepted"
    )


async def test_change_feed_gauge_turns_live_in_every_process(
    http: httpx.AsyncClient, metered: MeteredApi
) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        samples = _samples(await _scrape(http, "/metrics", metered.token))
        if _value(samples, "courier_change_feed_live") == 1:
            break
        assert time.monotonic() < deadline, "the change feed gauge never turned live"
        await asyncio.sleep(0.1)  # poll interval
    assert _value(samples, "courier_change_feed_last_event_timestamp_seconds") > 0


async def test_the_outbox_worker_reports_its_deliveries(
    http: httpx.AsyncClient, metered: MeteredApi, auth: AuthHeaders
) -> None:
    # No channel is configured in this environment: each notification of a drop is settled as skipped.
    before = _samples(await _scrape(http, metered.worker_metrics_url, metered.token))
    drop = await door_drop(http, auth)
    photo = await asyncio.to_thread(drop.photo)
    uploaded = await http.post(
        f"/v1/deliveries/{drop.order_id}/photos", content=photo, headers=drop.headers(auth, photo)
    )
    assert uploaded.status_code == 201, uploaded.text
    deadline = time.monotonic() + DEADLINE_S
    while True:
        after = _samples(await _scrape(http, metered.worker_metrics_url, metered.token))
        settled = sum(
            _value(after, "courier_outbox_deliveries_total", channel=channel, outcome="skipped")
            - _value(before, "courier_outbox_deliveries_total", channel=channel, outcome="skipped")
            for channel in ("webhook", "email")
        )
        if settled >= 2:
            break
        assert time.monotonic() < deadline, "the worker never reported the drop's notifications"
        await asyncio.sleep(0.1)  # poll interval
    assert ("courier_outbox_backlog", frozenset({("status", "pending")})) in after


def test_request_tallies_land_in_the_buckets_observe_would_choose() -> None:
    """The batched request histogram equals one built by `observe`, bucket bounds included."""
    tallied, observed = Metrics(), Metrics()
    durations = [0.0, 0.002, 0.0021, 0.05, 0.5000001, 30.0, 31.0, 1e-9]
    for seconds in durations:
        tallied.observe_request("GET", "/health", 200, seconds)
        observed.request_duration.labels("GET", "/health", "200").observe(seconds)
    tallied.flush_requests()
    tallied.flush_requests()  # nothing new: adds nothing

    def exposition(metrics: Metrics) -> Samples:
        return {
            key: value
            for key, value in _samples(generate_latest(metrics.registry()).decode()).items()
            if key[0].startswith("courier_http_request_duration_seconds") and not key[0].endswith("_created")
        }

    assert exposition(tallied) == exposition(observed)
    assert _value(
        exposition(tallied),
        "courier_http_request_duration_seconds_count",
        method="GET",
        route="/health",
        status="200",
    ) == len(durations)


def _api_workers(api: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The uvicorn workers of `api` that are running (a killed one is a zombie until it is reaped)."""
    workers = []
    for child in psutil.Process(api.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and any(
                "spawn_main" in part for part in child.cmdline()
            ):
                workers.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return workers


def _has_pool_gauge(path: Path) -> bool:
    return path.exists() and any(
        "courier_db_pool_connections" in key
        for key, *_ in MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
    )


async def test_a_killed_worker_leaves_the_live_gauges_but_not_the_counters(
    http: httpx.AsyncClient, metered: MeteredApi
) -> None:
    """uvicorn replaces a SIGKILLed worker; its pool gauges must leave the sums (mark_process_dead)."""
    before = _samples(await _scrape(http, "/metrics", metered.token))
    workers = _api_workers(metered.api)
    assert len(workers) == 2
    directory = Path(workers[0].environ()["PROMETHEUS_MULTIPROC_DIR"])
    victim = workers[0].pid
    assert (directory / f"gauge_livesum_{victim}.db").exists()
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE_S
    while True:
        replaced = {worker.pid for worker in _api_workers(metered.api)}
        if victim not in replaced and len(replaced) == 2:
            break
        assert time.monotonic() < deadline, "uvicorn did not replace the killed worker"
        await asyncio.sleep(0.1)  # poll interval
    while (directory / f"gauge_livesum_{victim}.db").exists():
        assert time.monotonic() < deadline, "the dead worker's live gauges were never dropped"
        await asyncio.sleep(0.1)  # poll interval
    assert (directory / f"histogram_{victim}.db").exists()  # totals (counters, histograms) stay
    # The replacement counts once it has sampled its own pool; before that the sum would be 6 by chance
    # even if the dead worker's gauges had stayed (3 dead + 3 surviving).
    (replacement,) = {worker.pid for worker in _api_workers(metered.api)} - {worker.pid for worker in workers}
    while not _has_pool_gauge(directory / f"gauge_livesum_{replacement}.db"):
        assert time.monotonic() < deadline, "the replacement worker never sampled its pool"
        await asyncio.sleep(0.1)  # poll interval
    after = _samples(await _scrape(http, "/metrics", metered.token))
    assert _value(after, "courier_db_pool_connections", state="max") == 2 * 3  # two live pools of DB_POOL_MAX
    for verdict in ("accepted", "rejected"):
        assert _value(after, "courier_photo_verdicts_total", verdict=verdict) >= _value(
            before, "courier_photo_verdicts_total", verdict=verdict
        )
