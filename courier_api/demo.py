"""Demo data for `courier-api dev`: cities, orders with label codes and coordinates, one actor per role."""

from __future__ import annotations

from datetime import date

import msgspec

from courier_api.schemas.orders import Address, Customer, Item, OrderSnapshot
from eligibility import rollout_timeline
from infra.database import Database

# The demo and the tests replay the real rollout from this day, so "now" falls in its last step.
ROLLOUT_START = date(2026, 1, 12)

DEMO_ACTORS: dict[str, str] = {
    "courier": "courier-1",
    "customer": "customer-1",
    "support": "support-1",
    "admin": "admin-1",
    "service": "order-system",
}

_PLACES = {
    "MOW": ("Москва, ул. Тверская, д. 7, кв. 12", 55.7577, 37.6136),
    "SPB": ("Санкт-Петербург, Невский пр., д. 28, кв. 5", 59.9358, 30.3259),
    "KZN": ("Казань, ул. Баумана, д. 19, кв. 3", 55.7887, 49.1221),
}


def demo_orders() -> dict[str, OrderSnapshot]:
    orders: dict[str, OrderSnapshot] = {}
    for number, (city, (text, lat, lon)) in enumerate(_PLACES.items(), start=1):
        orders[f"demo-{city.lower()}-{number}"] = OrderSnapshot(
            customer=Customer(id=DEMO_ACTORS["customer"], email="customer-1@example.com", locale="ru"),
            city=city,
            delivery_method="courier",
            payment="prepaid",
            label_code=f"DD{number:04d}{city}",
            address=Address(text=text, lat=lat, lon=lon),
            items=[
                Item(
                    sku=f"SKU-{number}-A",
                    title="Книга",
                    category="books",
                    unit_price_kopecks=89_000,
                    quantity=1,
                    dimensions_mm=(220, 150, 30),
                    weight_g=450,
                ),
                Item(
                    sku=f"SKU-{number}-B",
                    title="Кружка",
                    category="kitchen",
                    unit_price_kopecks=45_000,
                    quantity=2,
                    dimensions_mm=(120, 100, 100),
                    weight_g=350,
                ),
            ],
        )
    return orders


async def seed_demo(db: Database) -> list[str]:
    """Insert the demo orders, assigned to the demo courier, the customer opted in; returns their ids.

    Opted in so that `courier-api simulate` can open a capture session for them straight away.
    """
    async with db.transaction() as uow:
        for order_id, snapshot in demo_orders().items():
            await uow.orders.upsert(
                order_id=order_id,
                customer_id=snapshot.customer.id,
                city=snapshot.city,
                label_code=snapshot.label_code,
                snapshot=msgspec.to_builtins(snapshot),
            )
            await uow.orders.assign_courier(order_id, DEMO_ACTORS["courier"], "Иван")
            await uow.orders.set_door_drop(order_id, True)
    return list(demo_orders())


async def seed_policies(db: Database, start: date = ROLLOUT_START) -> list[int]:
    """Publish the rollout timeline unless some policy exists already; returns the versions stored."""
    async with db.transaction() as uow:
        if await uow.policies.latest_version():
            return []
        stored = [
            await uow.policies.add(
                effective_from=version.policy.effective_from,
                document=msgspec.to_builtins(version.policy),
                created_by="seed",
            )
            for version in rollout_timeline(start)
        ]
    return [row.version for row in stored]
