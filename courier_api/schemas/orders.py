"""The order snapshot the upstream order system sends (`infra.documents`), and how staff read an order back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from infra.documents import (
    NO_NUL,
    Address,
    Customer,
    Identifier,
    Item,
    Locale,
    OrderSnapshot,
    WireStruct,
)

__all__ = ["Address", "CourierAssignment", "Customer", "Item", "Locale", "OrderSnapshot", "OrderView"]


class CourierAssignment(WireStruct):
    courier_id: Identifier
    # Shown to the customer ("left at your door by Ivan"); never the full name.
    courier_first_name: Annotated[str, msgspec.Meta(min_length=1, max_length=40), NO_NUL] | None = None


class OrderView(WireStruct):
    order_id: str
    order: OrderSnapshot
    courier_id: str | None
    courier_first_name: str | None
    status: str
    door_drop_enabled: bool
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
