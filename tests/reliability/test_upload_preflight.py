"""The photo upload answers from its headers before reading the body, and bounds how long a body may take.

Against a real `courier-api serve` (its own process, `UPLOAD_BODY_TIMEOUT_S` short), over raw sockets:
- every refusal that the headers decide (no or bad token, wrong role, another courier's order or session,
  bad headers, wrong Content-Type, too large a Content-Length) arrives while the body was never sent;
- a courier with a valid session who sends the headers and then stalls, or trickles one byte at a time,
  gets 408 `request.timeout` once the timeout passes, and the connection is closed;
- a complete photo still uploads.
Every wait is a socket read with a deadline; nothing sleeps.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from infra.database import Database
from infra.devstack import DevStack
from infra.devstack.ports import free_port
from infra.settings import Settings
from infra.storage import ObjectStore
from tests.api.capture_flow import DoorDrop, door_drop
from tests.conftest import AuthHeaders
from tests.processes import service_env, start_api, stop

BODY_TIMEOUT_S = 1.5
# How long a test waits for an answer the server owes at once (headers only) or after the timeout.
ANSWER_DEADLINE_S = 10.0
PHOTO_LENGTH = 3_000_000  # what the headers announce; never sent


@dataclass(frozen=True)
class Answer:
    status: int
    problem: dict[str, object]
    elapsed_s: float
    closed: bool  # the server closed the connection after the answer


@pytest.fixture(scope="module")
def strict_api(
    live_settings: Settings, dev_stack: DevStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A `courier-api serve` with a short body timeout, on the reliability tests' database."""
    log: Path = tmp_path_factory.mktemp("strict-api") / "api.log"
    env = service_env(
        live_settings,
        s3_credentials=dev_stack.s3_credentials,
        UPLOAD_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
        VERIFY_POOL="thread",
        DB_POOL_MIN="1",
        DB_POOL_MAX="2",
    )
    port = free_port()
    process = start_api(env, port, log=log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture(scope="module")
async def drops(strict_api: str, auth: AuthHeaders) -> AsyncIterator[tuple[DoorDrop, DoorDrop]]:
    """Mine and another courier's: both orders at the door with an open capture session."""
    async with httpx.AsyncClient(base_url=strict_api, timeout=60.0) as client:
        yield await door_drop(client, auth), await door_drop(client, auth)


def _open(base_url: str, path: str, headers: dict[str, str]) -> socket.socket:
    url = urlsplit(base_url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=ANSWER_DEADLINE_S)
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    return sock


def _read_answer(sock: socket.socket, started: float) -> Answer:
    """Read until the server closes; fail if nothing comes within the deadline."""
    received = b""
    closed = False
    try:
        while block := sock.recv(65536):
            received += block
        closed = True
    except TimeoutError:
        if not received:
            pytest.fail(f"no answer within {ANSWER_DEADLINE_S} s: the server is waiting for the body")
    except ConnectionResetError:
        closed = True  # closed with our unsent announced bytes outstanding; the answer came before
    head, _, body = received.partition(b"\r\n\r\n")
    assert head, "the server closed without answering"
    assert b"content-type: application/problem+json" in head.lower(), head
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return Answer(
        status=int(head.split(b" ", 2)[1]),
        problem=json.loads(body[:length]),
        elapsed_s=time.monotonic() - started,
        closed=closed,
    )


def _headers_only(base_url: str, path: str, headers: dict[str, str]) -> Answer:
    """Send the headers (announcing a body) and not one byte of the body; return the answer."""
    started = time.monotonic()
    with _open(base_url, path, {"Connection": "close", **headers}) as sock:
        return _read_answer(sock, started)


def _upload_headers(drop: DoorDrop, auth: AuthHeaders, **changes: str | None) -> dict[str, str]:
    headers = {**drop.headers(auth, b"never sent"), "Content-Length": str(PHOTO_LENGTH)}
    for field, value in changes.items():
        name = field.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def test_refusals_decided_by_the_headers_arrive_before_any_body_byte(
    strict_api: str, drops: tuple[DoorDrop, DoorDrop], auth: AuthHeaders
) -> None:
    mine, theirs = drops
    path = f"/v1/deliveries/{mine.order_id}/photos"
    other_courier = auth("courier", theirs.courier_id)["Authorization"]
    cases: dict[str, tuple[str, dict[str, str], int, str]] = {
        "no token": (path, _upload_headers(mine, auth, Authorization=None), 401, "auth.unauthenticated"),
        "invalid token": (
            path,
            _upload_headers(mine, auth, Authorization="Bearer not.a.jwt"),
            401,
            "auth.unauthenticated",
        ),
        "customer role": (
            path,
            _upload_headers(mine, auth, Authorization=auth("customer", mine.customer_id)["Authorization"]),
            403,
            "auth.forbidden",
        ),
        "another courier's order": (
            path,
            _upload_headers(mine, auth, Authorization=other_courier, X_Capture_Session=theirs.session_id),
            404,
            "order.not_found",
        ),
        "another courier's session": (
            path,
            _upload_headers(mine, auth, X_Capture_Session=theirs.session_id),
            404,
            "capture_session.not_found",
        ),
        "unknown order": (
            "/v1/deliveries/no-such-order/photos",
            _upload_headers(mine, auth),
            404,
            "order.not_found",
        ),
        "session header not an id": (
            path,
            _upload_headers(mine, auth, X_Capture_Session="not-a-uuid"),
            422,  # as before: well-formed header, unacceptable value
            "request.invalid_header",
        ),
        "no signature header": (
            path,
            _upload_headers(mine, auth, X_Capture_Signature=None),
            422,
            "photo.proof_missing",
        ),
        "not image/jpeg": (
            path,
            _upload_headers(mine, auth, Content_Type="text/plain"),
            415,
            "media_type.unsupported",
        ),
        "over MAX_PHOTO_BYTES": (
            path,
            _upload_headers(mine, auth, Content_Length=str(16_000_000)),
            422,
            "photo.too_many_bytes",
        ),
        "over the ceiling": (
            path,
            _upload_headers(mine, auth, Content_Length=str(100_000_000)),
            413,
            "request.too_large",
        ),
    }
    for name, (target, headers, status, code) in cases.items():
        answer = _headers_only(strict_api, target, headers)
        assert (answer.status, answer.problem["code"]) == (status, code), (name, answer)
        assert answer.elapsed_s < BODY_TIMEOUT_S, (name, answer)  # not the body timeout answering
        assert answer.closed, name


def test_a_body_that_stalls_after_the_headers_gets_408_and_the_connection_closes(
    strict_api: str, drops: tuple[DoorDrop, DoorDrop], auth: AuthHeaders
) -> None:
    mine, _ = drops
    headers = _upload_headers(mine, auth)
    started = time.monotonic()
    # Keep-alive on purpose: the server must close the connection itself after the 408.
    with _open(strict_api, f"/v1/deliveries/{mine.order_id}/photos", headers) as sock:
        sock.sendall(b"\xff\xd8" + b"\x00" * 65536)  # a start, then nothing
        answer = _read_answer(sock, started)
    assert (answer.status, answer.problem["code"]) == (408, "request.timeout"), answer
    assert answer.closed
    assert BODY_TIMEOUT_S <= answer.elapsed_s < ANSWER_DEADLINE_S, answer


def test_a_trickle_of_bytes_does_not_extend_the_body_deadline(
    strict_api: str, drops: tuple[DoorDrop, DoorDrop], auth: AuthHeaders
) -> None:
    mine, _ = drops
    headers = _upload_headers(mine, auth)
    started = time.monotonic()
    sent = 0
    with _open(strict_api, f"/v1/deliveries/{mine.order_id}/photos", headers) as sock:
        # One byte per 50 ms until the server answers: the socket wait is the pace, not a sleep.
        while not select.select([sock], [], [], 0.05)[0]:
            assert time.monotonic() - started < ANSWER_DEADLINE_S, "still reading the trickle"
            sock.sendall(b"\x00")
            sent += 1
        answer = _read_answer(sock, started)
    assert (answer.status, answer.problem["code"]) == (408, "request.timeout"), answer
    assert answer.closed
    assert answer.elapsed_s < BODY_TIMEOUT_S + 5.0, answer
    assert sent < PHOTO_LENGTH


async def test_a_complete_photo_still_uploads(
    strict_api: str, auth: AuthHeaders, live_db: Database, store: ObjectStore
) -> None:
    async with httpx.AsyncClient(base_url=strict_api, timeout=60.0) as client:
        drop = await door_drop(client, auth)
        photo = drop.photo()
        answer = await client.post(
            f"/v1/deliveries/{drop.order_id}/photos", content=photo, headers=drop.headers(auth, photo)
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["verdict"] == "accepted", answer.text
    async with live_db.transaction() as uow:
        attempts = await uow.attempts.for_order(drop.order_id)
    assert [attempt.size_bytes for attempt in attempts] == [len(photo)]
    assert len(await store.list_objects(f"evidence/{drop.order_id}/")) == 1
