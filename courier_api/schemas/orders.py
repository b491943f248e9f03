"""The order snapshot the upstream order system sends, and how staff read an order back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from courier_api.schemas.common import (
    CityCode,
    Identifier,
    Kopecks,
    Latitude,
    Longitude,
    ShortText,
    WireStruct,
)

DeliveryMethod = Literal["courier", "pickup_point"]
Payment = Literal["prepaid", "cash_on_delivery", "card_on_delivery"]
Locale = Literal["ru", "en"]
Millimetres = Annotated[int, msgspec.Meta(gt=0, le=100_000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Customer(WireStruct):
    id: Identifier
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32, pattern=r"^\+?[0-9 ()-]{5,32}$")] | None = None
    locale: Locale = "ru"


class Address(WireStruct):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    lat: Latitude
    lon: Longitude


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
    label_code: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    address: Address
    items: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=200)]


class CourierAssignment(WireStruct):
    courier_id: Identifier
    # Shown to the customer ("left at your door by Ivan"); never the full name.
    courier_first_name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None


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
