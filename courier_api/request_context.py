"""The current request's id, readable anywhere (use cases put it into the audit log) without litestar.

The only definition: `logging_setup.request_id_middleware` sets it, log lines and audit rows read it.
A second variable of the same name elsewhere once left every audit row with the default `-`.
"""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
