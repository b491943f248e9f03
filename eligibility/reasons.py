"""Builders for each refusal reason, with its messages in English and Russian."""

from __future__ import annotations

from typing import Final

from eligibility.decision import Reason, ReasonCode

# Plain words for the attributes we exclude by default; unknown attributes are shown by code.
_ATTRIBUTE_WORDS: Final[dict[str, tuple[str, str]]] = {
    "passport_check": ("must be handed over against an ID check", "выдаётся только по документу"),
    "digital": ("is a digital good", "цифровой товар"),
    "fresh": ("is perishable fresh food", "скоропортящийся продукт"),
    "bulky": ("is bulky", "крупногабаритный товар"),
}


def _rub_en(kopecks: int) -> str:
    return f"{kopecks // 100:,}.{kopecks % 100:02d} RUB"


def _rub_ru(kopecks: int) -> str:
    return f"{kopecks // 100:,}".replace(",", " ") + f",{kopecks % 100:02d} ₽"


def _grams_en(grams: int) -> str:
    return f"{grams:,} g"


def _grams_ru(grams: int) -> str:
    return f"{grams:,}".replace(",", " ") + " г"


def _box(sides: tuple[int, ...]) -> str:
    return "×".join(str(side) for side in sides)


def not_courier_delivery(delivery_method: str) -> Reason:
    return Reason(
        code=ReasonCode.NOT_COURIER_DELIVERY,
        message_en=f"Door drop is only offered for courier delivery; this order uses '{delivery_method}'.",
        message_ru=(
            f"Оставить заказ у двери можно только при доставке курьером; в этом заказе — «{delivery_method}»."
        ),
    )


def not_prepaid(payment: str) -> Reason:
    return Reason(
        code=ReasonCode.NOT_PREPAID,
        message_en=f"Door drop needs the order to be paid in advance; this order uses '{payment}'.",
        message_ru=f"Оставить у двери можно только заранее оплаченный заказ; в этом заказе — «{payment}».",
    )


def customer_barred() -> Reason:
    return Reason(
        code=ReasonCode.CUSTOMER_BARRED,
        message_en="Support has turned door drop off for this customer.",
        message_ru="Служба поддержки отключила для этого покупателя возможность оставлять заказ у двери.",
    )


def no_policy() -> Reason:
    return Reason(
        code=ReasonCode.NO_POLICY,
        message_en="Door drop is not offered yet: no policy is in force at this time.",
        message_ru="Оставить заказ у двери пока нельзя: на это время нет действующих правил.",
    )


def city_not_in_rollout(city: str) -> Reason:
    return Reason(
        code=ReasonCode.CITY_NOT_IN_ROLLOUT,
        message_en=f"Door drop is not available in city '{city}' yet.",
        message_ru=f"В городе «{city}» оставить заказ у двери пока нельзя.",
    )


def over_value_cap(cap_kopecks: int, value_kopecks: int) -> Reason:
    return Reason(
        code=ReasonCode.OVER_VALUE_CAP,
        message_en=(
            f"The order is worth {_rub_en(value_kopecks)}, "
            f"above the door-drop limit of {_rub_en(cap_kopecks)}."
        ),
        message_ru=(
            f"Сумма заказа {_rub_ru(value_kopecks)} больше лимита {_rub_ru(cap_kopecks)} "
            "для доставки к двери."
        ),
        limit=cap_kopecks,
        actual=value_kopecks,
    )


def order_too_heavy(limit_g: int, actual_g: int) -> Reason:
    return Reason(
        code=ReasonCode.ORDER_TOO_HEAVY,
        message_en=f"The order weighs {_grams_en(actual_g)}, above the limit of {_grams_en(limit_g)}.",
        message_ru=f"Заказ весит {_grams_ru(actual_g)}, это больше допустимых {_grams_ru(limit_g)}.",
        limit=limit_g,
        actual=actual_g,
    )


def excluded_category(sku: str, category: str) -> Reason:
    return Reason(
        code=ReasonCode.EXCLUDED_CATEGORY,
        message_en=f"Item {sku}: goods in category '{category}' cannot be left at the door.",
        message_ru=f"Товар {sku}: товары категории «{category}» нельзя оставлять у двери.",
        sku=sku,
        category=category,
    )


def excluded_attribute(sku: str, attribute: str) -> Reason:
    fallback = (f"is marked '{attribute}'", f"отмечен как «{attribute}»")
    words_en, words_ru = _ATTRIBUTE_WORDS.get(attribute, fallback)
    return Reason(
        code=ReasonCode.EXCLUDED_ATTRIBUTE,
        message_en=f"Item {sku} {words_en} and cannot be left at the door.",
        message_ru=f"Товар {sku}: {words_ru}, его нельзя оставлять у двери.",
        sku=sku,
        attribute=attribute,
    )


def item_too_large(
    sku: str, dimensions_mm: tuple[int, ...], box_mm: tuple[int, ...], limit_mm: int, actual_mm: int
) -> Reason:
    """`limit_mm`/`actual_mm` are the first side, longest first, that does not fit."""
    return Reason(
        code=ReasonCode.ITEM_TOO_LARGE,
        message_en=(
            f"Item {sku} measures {_box(dimensions_mm)} mm and does not fit a {_box(box_mm)} mm box "
            "in any orientation."
        ),
        message_ru=(
            f"Товар {sku} размером {_box(dimensions_mm)} мм не помещается в габариты {_box(box_mm)} мм "
            "ни в каком положении."
        ),
        sku=sku,
        limit=limit_mm,
        actual=actual_mm,
    )


def item_too_heavy(sku: str, limit_g: int, actual_g: int) -> Reason:
    return Reason(
        code=ReasonCode.ITEM_TOO_HEAVY,
        message_en=(
            f"One unit of item {sku} weighs {_grams_en(actual_g)}, above the limit of {_grams_en(limit_g)}."
        ),
        message_ru=(
            f"Одна штука товара {sku} весит {_grams_ru(actual_g)}, "
            f"это больше допустимых {_grams_ru(limit_g)}."
        ),
        sku=sku,
        limit=limit_g,
        actual=actual_g,
    )
