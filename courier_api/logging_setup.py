"""JSON logs with the request id on every line.

Never log tokens, phone numbers, emails or coordinates: request lines carry method, path and
status only (paths hold opaque ids), and `redact` scrubs anything that looks like a secret.

The access line is written once per request, so it has its own cheap path: the whole JSON line
is encoded by msgspec in the middleware and handed to the handlers as a ready-made record (no
`extra=`, no caller lookup, no second encoding); `JsonFormatter` passes it through unchanged.
It still goes through `logging`, so levels, handlers and test capture apply as to any line.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
import uuid
from typing import Any, cast

import msgspec
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

# The one request id variable: set here per request, read by log lines and by the audit log.
from courier_api.request_context import request_id_var

_ACCESS_LOGGER = "courier_api.access"
_access = logging.getLogger(_ACCESS_LOGGER)

# One pass, leftmost match wins, alternatives tried in this order at each position. Ids come before
# the phone pattern because a UUID's last group (12 digits), a hex request id or an order id such as
# ORD-2026-11-29-000123 holds digit runs a phone pattern would eat; ids are opaque, not personal.
# An id token starts with a letter and never holds `:`, `+` or `@`, so `tel:89991234567`,
# `+7 999 123-45-67` and emails still reach their own patterns.
_REDACTIONS = re.compile(
    r"(?P<jwt>eyJ[\w-]+\.[\w-]+\.[\w-]*)"
    r"|(?P<email>[\w.+-]+@[\w-]+\.[\w.-]+)"
    r"|(?P<uuid>(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))"
    r"|(?P<hex>(?<![\w-])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{32})(?![\w-]))"
    r"|(?P<ident>(?<![\w.+-])[A-Za-z][\w.-]*)"
    r"|(?P<phone>\+?\d[\d ()-]{8,}\d)"
    r"|(?P<coord>-?\d{1,3}\.\d{4,})"
)
_REPLACEMENTS = {"jwt": "<jwt>", "email": "<email>", "phone": "<phone>", "coord": "<coord>"}
# An id token may swallow a JWT glued to a word (`session-eyJ...`): that part still goes.
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# Values of `extra=` that JSON has no type for are written as their text, never dropped.
_json = msgspec.json.Encoder(enc_hook=str)


def redact(text: str) -> str:
    """Tokens, emails, phone numbers and coordinates out; ids (UUIDs, hashes, order and request ids) kept."""
    return _REDACTIONS.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "ident":
        return _JWT.sub("<jwt>", match[0])
    return _REPLACEMENTS[kind] if kind in _REPLACEMENTS else match[0]


class _Clock:
    """UTC timestamps with milliseconds; the strftime part is computed once per second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def stamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"


_clock = _Clock()


class AccessLine(msgspec.Struct):
    """The access line; field order is the key order on the wire (as before: ts first)."""

    ts: str
    level: str
    logger: str
    request_id: str
    msg: str
    method: str
    path: str
    status: int
    duration_ms: float


class _AccessRecord(logging.LogRecord):
    """A LogRecord whose JSON line is already rendered (`json_line`)."""

    json_line: str


_RECORD_TEMPLATE: dict[str, Any] = {
    "name": _ACCESS_LOGGER,
    "args": None,
    "levelname": "INFO",
    "levelno": logging.INFO,
    "pathname": __file__,
    "filename": os.path.basename(__file__),
    "module": __name__.rsplit(".", 1)[-1],
    "exc_info": None,
    "exc_text": None,
    "stack_info": None,
    "lineno": 0,
    "funcName": "request_id_middleware",
    "taskName": None,
}
_START = getattr(logging, "_startTime", time.time())
_process: tuple[int, str] = (-1, "MainProcess")


def _this_process() -> tuple[int, str]:
    global _process  # noqa: PLW0603 - one cache per process, refreshed after a fork or spawn
    pid = os.getpid()
    if _process[0] != pid:
        multiprocessing = sys.modules.get("multiprocessing")
        name = multiprocessing.current_process().name if multiprocessing is not None else "MainProcess"
        _process = (pid, name)
    return _process


def _access_record(line: str, created: float, msecs: float) -> _AccessRecord:
    # LogRecord.__init__ looks up the caller's file, thread and process names for every record:
    # the static fields come from a template, the rest is set here.
    record = _AccessRecord.__new__(_AccessRecord)
    record.__dict__.update(_RECORD_TEMPLATE)
    thread = threading.current_thread()
    pid, process_name = _this_process()
    record.__dict__.update(
        msg=line,
        json_line=line,
        created=created,
        msecs=msecs,
        relativeCreated=(created - _START) * 1000,
        thread=thread.ident,
        threadName=thread.name,
        process=pid,
        processName=process_name,
    )
    return record


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ready: str | None = getattr(record, "json_line", None)
        if ready is not None:
            return ready
        entry: dict[str, Any] = {
            "ts": _clock.stamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id_var.get(),
            "msg": redact(record.getMessage()),
        }
        for key in ("method", "path", "status", "duration_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return _json.encode(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_access(rid: str, method: str, path: str, status: int, started: float) -> None:
    """One JSON access line: the same fields as any line, plus method, path, status, duration."""
    if not _access.isEnabledFor(logging.INFO):
        return
    created = time.time()
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    line = AccessLine(
        ts=_clock.stamp(created),
        level="INFO",
        logger=_ACCESS_LOGGER,
        request_id=rid,
        msg="request",
        method=method,
        path=path,
        status=status,
        duration_ms=duration_ms,
    )
    _access.handle(_access_record(_json.encode(line).decode(), created, (created - int(created)) * 1000))


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (or keep a sane one the client sent), echo it, log one access line."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await app(scope, receive, send)
            return
        http_scope = cast("HTTPScope", scope)
        incoming = ""
        for name, value in http_scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
        rid = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        rid_header = (b"x-request-id", rid.encode())
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            log_access(rid, http_scope["method"], http_scope["path"], status, started)
            request_id_var.reset(token)

    return middleware
