"""The bench's breakdown of the upload's server CPU: which category a sampled stack is, and how CPU is shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.breakdown import UNATTRIBUTED, classify, weigh

REPO = Path(__file__).resolve().parents[3]
PROCESS = 'process 41:"python -c from courier_api.cli import main; raise SystemExit(main()) serve"'
VERIFY = [
    "thread (43): verify_0",
    "_worker (concurrent/futures/thread.py:83)",
    "verify (photo_pipeline/verify.py:63)",
    "decode_planes (photo_pipeline/turbojpeg.py:275)",
]
DOOR = [
    "thread (44): asyncio_0",
    "_worker (concurrent/futures/thread.py:83)",
    "_compare_all (courier_api/use_cases/doorsteps.py:153)",
    "compare_doorsteps (photo_pipeline/doorstep.py:119)",
]
S3_SEND = [
    "thread (44): asyncio_0",
    "ObjectStore.put_new.<locals>.put (infra/storage.py:111)",
    "AWSConnection.send (botocore/awsrequest.py:223)",
    "HTTPConnection.send (http/client.py:1009)",
]
S3_WAIT = [
    "thread (44): asyncio_0",
    "ObjectStore.put_new.<locals>.put (infra/storage.py:111)",
    "HTTPResponse._read_status (http/client.py:286)",
    "SocketIO.readinto (socket.py:706)",
]
POSTGRES = [
    "thread (41): MainThread",
    "PhotoIntake._record (courier_api/use_cases/capture.py:416)",
    "OrderRepository.get (infra/repositories/orders.py:52)",
    "Connection._do_execute (asyncpg/connection.py:2069)",
]


def _line_of(path: str, text: str) -> int:
    lines = (REPO / path).read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


@pytest.mark.parametrize(
    ("stack", "category"),
    [
        (VERIFY, "verify"),
        (DOOR, "door check"),
        (S3_SEND, "S3 client (botocore, urllib3)"),
        (POSTGRES, "PostgreSQL (asyncpg, repositories)"),
        (S3_WAIT, None),  # waiting for the S3 server's answer is not work
        (["thread (43): verify_0", "_worker (concurrent/futures/thread.py:81)"], None),
    ],
)
def test_a_stack_is_classified_by_what_it_does(stack: list[str], category: str | None) -> None:
    assert classify([PROCESS, *stack]) == category


def test_the_body_hash_is_hashing_though_hashlib_shows_no_frame() -> None:
    # hashlib is C: the sampled leaf is the line of ours that calls it.
    line = _line_of("courier_api/use_cases/capture.py", "hashlib.sha256(upload.body)")
    stack = ["thread (41): MainThread", f"PhotoIntake.submit (courier_api/use_cases/capture.py:{line})"]
    assert classify(stack) == "hashing, signature"


def test_each_thread_cpu_is_shared_by_its_own_samples_not_by_raw_sample_counts() -> None:
    # The verification thread waited for a core most of the run: many samples, little CPU.
    collapsed = [
        f"{PROCESS};{';'.join(VERIFY)} 900\n",
        f"{PROCESS};{';'.join(DOOR)} 30\n",
        f"{PROCESS};{';'.join(S3_SEND)} 10\n",
        f"{PROCESS};{';'.join(S3_WAIT)} 500\n",
        f"{PROCESS};{';'.join(POSTGRES)} 20\n",
    ]
    found = weigh(collapsed, {43: 3.0, 44: 2.0, 41: 0.5, 99: 0.1}, total_s=6.0)

    assert found.seconds["verify"] == pytest.approx(3.0)
    assert found.seconds["door check"] == pytest.approx(1.5)
    assert found.seconds["S3 client (botocore, urllib3)"] == pytest.approx(0.5)
    assert found.seconds["PostgreSQL (asyncpg, repositories)"] == pytest.approx(0.5)
    assert found.seconds[UNATTRIBUTED] == pytest.approx(0.5)  # thread 99 was never sampled, and the rest
    assert found.roles["verification pool"] == pytest.approx(3.0)
    assert found.roles["event loop"] == pytest.approx(0.5)
    assert found.per_item_ms(1000)["verify"] == pytest.approx(3.0)


def test_threads_of_worker_processes_are_found_under_their_parent() -> None:
    # `serve --workers 2`: py-spy nests each worker's frames under the supervisor's process frame.
    worker = 'process 42:"python -c from courier_api.cli import main; raise SystemExit(main()) serve"'
    collapsed = [f"{PROCESS};{worker};{';'.join(VERIFY)} 10\n"]

    found = weigh(collapsed, {43: 1.0}, total_s=1.0)

    assert found.seconds["verify"] == pytest.approx(1.0)
    assert found.seconds[UNATTRIBUTED] == pytest.approx(0.0)
