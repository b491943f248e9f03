"""What the customer reads, per event type and locale (ru, en).

Payload contract (camelCase keys, identifiers only; contact details come from the order):
    door_drop.completed   orderId
    claim.opened          orderId, claimId
    claim.decided         orderId, claimId, decision ("compensate" | "reject"; anything else reads neutral),
                          amountKopecks (with compensate)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import msgspec

from courier_api.formats import local_time, rubles

Locale = str
SUPPORTED_LOCALES: tuple[Locale, ...] = ("ru", "en")
DEFAULT_LOCALE: Locale = "ru"
# The event that tells the customer the parcel is at the door; its delivery starts the claim window.
DOOR_DROP_COMPLETED = "door_drop.completed"


class RenderedText(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    body: str
    link: str


class UnknownEvent(ValueError):
    """No texts exist for this event type: retrying cannot help."""


class IncompletePayload(ValueError):
    """The payload lacks a field the texts need: retrying cannot help."""


def order_link(public_base_url: str, order_id: str) -> str:
    """The customer's page for this order (photo proof, claim button)."""
    return f"{public_base_url.rstrip('/')}/orders/{quote(order_id, safe='')}"


def render(
    event_type: str,
    payload: Mapping[str, Any],
    locale: str,
    public_base_url: str,
    *,
    link_token: str | None = None,
    time_zone: str = "UTC",
) -> RenderedText:
    """Subject, body and link for one event in the customer's locale (Russian when unsupported).

    `link_token` signs the customer in on the order's page (see `TokenService.mint_order_link`);
    times are written in `time_zone`, the order's city's (the payload carries them in UTC).
    """
    template = _TEMPLATES.get(event_type)
    if template is None:
        raise UnknownEvent(event_type)
    fields = {key: str(value) for key, value in payload.items() if isinstance(value, str | int)}
    order_id = fields.get("orderId")
    if not order_id:
        raise IncompletePayload("orderId")
    fields["link"] = order_link(public_base_url, order_id)
    if link_token:
        fields["link"] += f"?token={quote(link_token, safe='')}"
    if "amountKopecks" in fields:
        fields["amountRub"] = rubles(int(fields["amountKopecks"]))
    if "leftAt" in fields:
        try:
            fields["leftAtLocal"] = local_time(datetime.fromisoformat(fields["leftAt"]), time_zone)
        except ValueError as exc:
            raise IncompletePayload("leftAt") from exc
    subject, body = template(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE, fields)
    try:
        subject, body = subject.format_map(fields), body.format_map(fields)
    except KeyError as exc:
        raise IncompletePayload(str(exc.args[0])) from exc
    return RenderedText(subject=subject, body=body, link=fields["link"])


def _door_drop_completed(locale: Locale, fields: dict[str, str]) -> tuple[str, str]:
    when_en = " at {leftAtLocal}" if "leftAtLocal" in fields else ""
    when_ru = " в {leftAtLocal}" if "leftAtLocal" in fields else ""
    if locale == "en":
        return (
            "Your order {orderId} was left at your door",
            f"The courier left your order {{orderId}} at your door{when_en} and took a photo as proof.\n"
            "See the photo and the details: {link}\n\n"
            "If the parcel is not there, tell us from the same page and we will sort it out.",
        )
    return (
        "Заказ {orderId} оставлен у двери",
        f"Курьер оставил ваш заказ {{orderId}} у двери{when_ru} и сфотографировал его.\n"
        "Фото и подробности: {link}\n\n"
        "Если заказа нет на месте, сообщите нам на этой же странице — мы разберёмся.",
    )


def _claim_opened(locale: Locale, fields: dict[str, str]) -> tuple[str, str]:
    if locale == "en":
        return (
            "We received your claim for order {orderId}",
            "We received your claim {claimId} about order {orderId}. "
            "Our support team will review it and let you know the decision.\n"
            "Order page: {link}",
        )
    return (
        "Мы получили вашу заявку по заказу {orderId}",
        "Мы получили вашу заявку {claimId} по заказу {orderId}. "
        "Служба поддержки рассмотрит её и сообщит вам решение.\n"
        "Страница заказа: {link}",
    )


def _claim_decided(locale: Locale, fields: dict[str, str]) -> tuple[str, str]:
    decision = fields.get("decision")
    if locale == "en":
        outcome = {
            "compensate": "We approved your claim {claimId} about order {orderId}: "
            "we will pay you {amountRub} RUB.",
            "reject": "We reviewed your claim {claimId} and could not approve it: "
            "the photo proof shows order {orderId} delivered to your door.",
        }.get(decision or "", "We reached a decision on your claim {claimId} about order {orderId}.")
        return ("Decision on your claim for order {orderId}", f"{outcome}\nDetails: {{link}}")
    outcome = {
        "compensate": "Мы удовлетворили вашу заявку {claimId} по заказу {orderId}: "
        "выплатим вам {amountRub} ₽.",
        "reject": "Мы рассмотрели вашу заявку {claimId} и не можем её удовлетворить: "
        "фото подтверждает, что заказ {orderId} доставлен к вашей двери.",
    }.get(decision or "", "Мы приняли решение по вашей заявке {claimId} по заказу {orderId}.")
    return ("Решение по заявке на заказ {orderId}", f"{outcome}\nПодробности: {{link}}")


_TEMPLATES: dict[str, Callable[[Locale, dict[str, str]], tuple[str, str]]] = {
    DOOR_DROP_COMPLETED: _door_drop_completed,
    "claim.opened": _claim_opened,
    "claim.decided": _claim_decided,
}
