"""The order snapshot as the upstream system sends it and we store it, and the constrained types every
JSON struct shares (ids, money, coordinates).

Here, below both the HTTP edge and the repositories, so the orders table hands out a typed snapshot and
nothing above decodes it again. The id pattern is defined here once: path parameters, query
parameters, wire structs and the page forms all use it.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# An id, matched in full: `\A`/`\Z`, not `^`/`$`, whose `$` also matches before a trailing newline. Never
# only dots: "." and ".." are path segments wherever an id lands in a URL or an object key. The one
# definition (see the module docstring).
ID_PATTERN = r"\A(?!\.+\Z)[A-Za-z0-9._:-]{1,64}\Z"
ID_MAX_LENGTH = 64
# PostgreSQL's text and jsonb cannot hold U+0000. Text we store refuses it when decoded (a 400 naming
# the field), so the OpenAPI document says so too; the database's own refusal (`UnstorableText`) stays
# as the backstop. Patterns are matched with `re.search`: `\A…\Z` makes this one a full match.
NO_NUL = msgspec.Meta(pattern=r"\A[^\x00]*\Z")
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
CityCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="City code such as MOW, SPB, KZN")]
Kopecks = Annotated[int, msgspec.Meta(ge=0, le=10**13, description="Money in integer kopecks")]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=300), NO_NUL]


class WireStruct(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Base of every JSON body: camelCase keys, defaults omitted.

    Unknown fields are ignored on purpose: a newer app or upstream may send fields an older
    server does not know yet, and refusing them would break rolling upgrades.
    """


DeliveryMethod = Literal["courier", "pickup_point"]
Payment = Literal["prepaid", "cash_on_delivery", "card_on_delivery"]
Locale = Literal["ru", "en"]
Millimetres = Annotated[int, msgspec.Meta(gt=0, le=100_000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64), NO_NUL]


# No whitespace and no control characters around one "@". The control ranges and U+FEFF also make the
# pattern mean the same in Python (which matches it) and in ECMA-262 (the OpenAPI document's dialect),
# whose `\s` differ by exactly U+001C-U+001F, U+0085 (Python only) and U+FEFF (ECMA only).
_EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f-\x9f\ufeff]+@[^@\s\x00-\x1f\x7f-\x9f\ufeff]+$"


class Customer(WireStruct):
    id: Identifier
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=_EMAIL_PATTERN)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32, pattern=r"^\+?[0-9 ()-]{5,32}$")] | None = None
    locale: Locale = "ru"


class Address(WireStruct):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500), NO_NUL]
    lat: Latitude
    lon: Longitude
    # The upstream system's stable id of this address (the flat, not the building), when it has one: two
    # orders are at the same door exactly when their ids are equal. Without it, the normalised text
    # (apartment included) decides (`infra.addresses`).
    id: Identifier | None = None


class Item(WireStruct):
    sku: Identifier
    title: ShortText
    category: Tag
    unit_price_kopecks: Kopecks
    quantity: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    dimensions_mm: tuple[Millimetres, Millimetres, Millimetres]
    weight_g: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
    attributes: Annotated[list[Tag], msgspec.Meta(max_length=32)] = msgspec.field(default_factory=list)


class OrderSnapshot(WireStruct):
    customer: Customer
    city: CityCode
    delivery_method: DeliveryMethod
    payment: Payment
    label_code: Annotated[str, msgspec.Meta(min_length=1, max_length=256), NO_NUL]
    address: Address
    items: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=200)]
