"""Path parameters shared by the controllers, validated before any handler runs."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# Row ids are PostgreSQL bigint: a larger number is a 400 here, not a driver error later.
MAX_ROW_ID = 2**63 - 1

OrderId = Annotated[
    str, PathParameter(description="The upstream order id", pattern=ID_PATTERN, max_length=64)
]
