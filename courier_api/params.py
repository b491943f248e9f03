"""Path parameters shared by the JSON controllers and the pages, validated before any handler runs."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar.params import PathParameter

from infra.documents import ID_MAX_LENGTH, ID_PATTERN

# Row ids are PostgreSQL bigint: a larger number is a 400 here, not a driver error later.
MAX_ROW_ID = 2**63 - 1
# A row id in a path is digits only. Litestar's `int` path type is Python's int(), which also takes
# "1\n", " 1" and "1_0"; 18 digits at most stays below MAX_ROW_ID without a second check.
ROW_ID_PATTERN = r"\A[1-9][0-9]{0,17}\Z"

# Declare these with `{name:str}` in the route path, so this validation is the only parsing.
OrderId = Annotated[
    str, PathParameter(description="The upstream order id", pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)
]
CustomerId = Annotated[
    str, PathParameter(description="Customer id", pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)
]
# msgspec's UUID parsing: the 36- or 32-character forms only (Python's UUID() also takes braces,
# "urn:uuid:" and underscores between the digits).
ClaimId = Annotated[uuid.UUID, PathParameter(description="Claim id")]
DeviceId = Annotated[uuid.UUID, PathParameter(description="Device id")]
CourierId = Annotated[
    str, PathParameter(description="Courier id", pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)
]
RowId = Annotated[str, PathParameter(description="The outbox row id", pattern=ROW_ID_PATTERN, max_length=18)]
