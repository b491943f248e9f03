"""RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

import msgspec


class InvalidParam(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    reason: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None
    reasons: list[dict[str, Any]] | None = None
    policy_version: int | None = None
    retry_after: int | None = None
