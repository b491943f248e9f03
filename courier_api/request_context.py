"""The current request's id, readable anywhere (use cases put it into the audit log) without litestar."""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
