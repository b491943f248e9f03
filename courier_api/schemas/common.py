"""Constrained types shared by the wire structs."""

from __future__ import annotations

from typing import Annotated

import msgspec

# An id, matched in full: `\A`/`\Z`, not `^`/`$`, whose `$` also matches before a trailing newline. Never
# only dots: "." and ".." are path segments wherever an id lands in a URL or an object key. The one
# definition: path parameters, query parameters, wire structs and the page forms all use it.
ID_PATTERN = r"\A(?!\.+\Z)[A-Za-z0-9._:-]{1,64}\Z"
ID_MAX_LENGTH = 64
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
CityCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="City code such as MOW, SPB, KZN")]
Kopecks = Annotated[int, msgspec.Meta(ge=0, le=10**13, description="Money in integer kopecks")]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class WireStruct(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Base of every JSON body: camelCase keys, defaults omitted.

    Unknown fields are ignored on purpose: a newer app or upstream may send fields an older
    server does not know yet, and refusing them would break rolling upgrades.
    """
