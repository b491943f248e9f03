"""What we know about an order when deciding whether it may be left at the door."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

COURIER: Final = "courier"
PICKUP_POINT: Final = "pickup_point"
PREPAID: Final = "prepaid"
CASH_ON_DELIVERY: Final = "cash_on_delivery"
CARD_ON_DELIVERY: Final = "card_on_delivery"

# Constraints are enforced when facts are decoded from JSON; structs built in code are trusted.
NonNegativeInt = Annotated[int, Meta(ge=0)]
Millimetres = Annotated[int, Meta(ge=0)]


class ItemFacts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One order line: a SKU with its catalogue facts and how many units are ordered."""

    sku: Annotated[str, Meta(min_length=1)]
    category: str
    attributes: tuple[str, ...]
    unit_price_kopecks: NonNegativeInt
    quantity: Annotated[int, Meta(ge=1)]
    dimensions_mm: tuple[Millimetres, Millimetres, Millimetres]
    weight_g: NonNegativeInt


class OrderFacts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """An order as the eligibility rules see it.

    Unknown fields are accepted on decode: the order service may learn new facts before we use them.
    """

    delivery_method: str
    payment: str
    city: str
    items: tuple[ItemFacts, ...]
    customer_barred: bool = False


def order_value_kopecks(facts: OrderFacts) -> int:
    """Total order value: unit price times quantity over all lines, in kopecks."""
    return sum(item.unit_price_kopecks * item.quantity for item in facts.items)
