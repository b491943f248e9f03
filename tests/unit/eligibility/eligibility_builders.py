"""Small builders for eligibility tests: a plain, eligible order and a plain policy to vary."""

from __future__ import annotations

from datetime import UTC, datetime

from eligibility import CityRule, ItemFacts, OrderFacts, Policy, PolicyVersion

AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
POLICY_START = datetime(2025, 1, 1, tzinfo=UTC)

CAP = 200_000
BOX = (600, 400, 400)
MAX_ITEM_G = 10_000
MAX_ORDER_G = 15_000
EXCLUDED_CATEGORIES = ("alcohol", "e_cigarettes", "gift_certificates")
EXCLUDED_ATTRIBUTES = ("passport_check", "digital", "fresh", "bulky")


def policy(
    *,
    cities: dict[str, CityRule] | None = None,
    effective_from: datetime = POLICY_START,
    box: tuple[int, int, int] = BOX,
    max_item_g: int = MAX_ITEM_G,
    max_order_g: int = MAX_ORDER_G,
    excluded_categories: tuple[str, ...] = EXCLUDED_CATEGORIES,
    excluded_attributes: tuple[str, ...] = EXCLUDED_ATTRIBUTES,
) -> Policy:
    return Policy(
        effective_from=effective_from,
        note="test policy",
        cities={"MOW": CityRule(cap_kopecks=CAP)} if cities is None else cities,
        max_item_dimensions_mm=box,
        max_item_weight_g=max_item_g,
        max_order_weight_g=max_order_g,
        excluded_categories=excluded_categories,
        excluded_attributes=excluded_attributes,
    )


def version(rules: Policy | None = None, number: int = 1) -> PolicyVersion:
    return PolicyVersion(version=number, policy=policy() if rules is None else rules)


def item(
    sku: str = "BOOK-1",
    *,
    category: str = "books",
    attributes: tuple[str, ...] = (),
    price: int = 50_000,
    quantity: int = 1,
    dimensions: tuple[int, int, int] = (240, 170, 30),
    weight: int = 500,
) -> ItemFacts:
    return ItemFacts(
        sku=sku,
        category=category,
        attributes=attributes,
        unit_price_kopecks=price,
        quantity=quantity,
        dimensions_mm=dimensions,
        weight_g=weight,
    )


def order(
    *items: ItemFacts,
    delivery_method: str = "courier",
    payment: str = "prepaid",
    city: str = "MOW",
    customer_barred: bool = False,
) -> OrderFacts:
    return OrderFacts(
        delivery_method=delivery_method,
        payment=payment,
        city=city,
        items=items or (item(),),
        customer_barred=customer_barred,
    )
