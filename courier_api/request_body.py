"""Reading request bodies at the HTTP edge: raw uploads under a deadline, JSON that cannot exhaust the stack."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT

# `opt` key of a handler that reads its body itself (no `data`/`body` parameter): the OpenAPI
# document still lists its 408, 413 and 415 answers.
STREAMED_BODY = "streamed_body"


class BodyTimeout(ClientException):
    """The body did not arrive in time. The connection is closed: its unread bytes are never waited for."""

    status_code = HTTP_408_REQUEST_TIMEOUT

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            detail=f"the request body did not arrive within {timeout_s:g} s",
            headers={"Connection": "close"},
        )


async def read_body(request: Request[Any, Any, Any], *, timeout_s: float) -> bytes:
    """The whole body, within the route's size limit, arriving within `timeout_s` in total.

    A total deadline rather than an idle timeout: a sender trickling one byte at a time cannot
    stretch it, so no separate minimum rate is needed. Litestar's stream refuses a Content-Length
    over the limit before reading, and stops at the limit while streaming (413).
    """
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(timeout_s), contextlib.aclosing(request.stream()) as stream:
            async for chunk in stream:
                chunks.append(chunk)
    except TimeoutError:
        chunks.clear()  # the partial body goes now, not when the exception's frames are collected
        raise BodyTimeout(timeout_s) from None
    return b"".join(chunks)


class BoundedJsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body is refused with 400 when nested deeper than the decoder's stack allows.

    msgspec raises RecursionError for such a body (`[` repeated 100,000 times), which Litestar does not
    take for a decoding error, so it answered 500. The C decoder unwinds by itself and nothing has been
    built yet, so turning it into a 400 here is safe. Every JSON body (`data` parameters) goes through
    this method.
    """

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException(detail="the JSON body is nested too deeply") from None
