"""Order snapshots for tests, as the upstream system would send them (camelCase JSON)."""

from __future__ import annotations

import uuid
from typing import Any


def new_id(prefix: str = "ord") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def order_body(
    *,
    customer_id: str = "cust-1",
    city: str = "MOW",
    delivery_method: str = "courier",
    payment: str = "prepaid",
    label_code: str | None = None,
    lat: float = 55.7577,
    lon: float = 37.6136,
    items: list[dict[str, Any]] | None = None,
    email: str | None = "c@example.com",
    phone: str | None = None,
    locale: str = "ru",
    address_text: str | None = None,
    address_id: str | None = None,
) -> dict[str, Any]:
    """An order; by default at its own flat (a random apartment), so no two orders share a door."""
    customer: dict[str, Any] = {"id": customer_id, "locale": locale}
    if email:
        customer["email"] = email
    if phone:
        customer["phone"] = phone
    return {
        "customer": customer,
        "city": city,
        "deliveryMethod": delivery_method,
        "payment": payment,
        "labelCode": label_code or f"LBL{uuid.uuid4().hex[:10].upper()}",
        "address": {
            "text": address_text or f"Москва, ул. Тверская, 7, кв. {uuid.uuid4().int % 10**9}",
            "lat": lat,
            "lon": lon,
            **({"id": address_id} if address_id else {}),
        },
        "items": items if items is not None else [item()],
    }


def item(
    *,
    sku: str = "SKU-1",
    category: str = "books",
    price: int = 50_000,
    quantity: int = 1,
    dimensions: tuple[int, int, int] = (200, 150, 40),
    weight_g: int = 500,
    attributes: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "sku": sku,
        "title": "Товар",
        "category": category,
        "unitPriceKopecks": price,
        "quantity": quantity,
        "dimensionsMm": list(dimensions),
        "weightG": weight_g,
        "attributes": attributes or [],
    }
