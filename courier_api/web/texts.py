"""What the customer's page says, in Russian and English (the order's `customer.locale`)."""

from __future__ import annotations

import msgspec


class CustomerTexts(msgspec.Struct, frozen=True, kw_only=True):
    lang: str
    title: str
    status_label: str
    statuses: dict[str, str]
    left_at: str
    left_by: str
    photo_alt: str
    no_photo: str
    claim_heading: str
    claim_deadline: str
    not_there_button: str
    comment_label: str
    claim_states: dict[str, str]
    claim_kinds: dict[str, str]
    decided_compensate: str
    decided_reject: str
    opened_at: str
    sign_in_to_claim: str


_RU = CustomerTexts(
    lang="ru",
    title="Заказ {order_id}",
    status_label="Статус",
    statuses={
        "pending": "В пути",
        "left_at_door": "Оставлен у двери",
    },
    left_at="Оставлен",
    left_by="Курьер",
    photo_alt="Фото заказа у двери",
    no_photo="Фото пока нет.",
    claim_heading="Заявка",
    claim_deadline="Сообщить о проблеме можно до",
    not_there_button="Заказа нет на месте",
    comment_label="Комментарий (необязательно)",
    claim_states={"open": "На рассмотрении", "decided": "Решение принято"},
    claim_kinds={"not_received": "Заказа нет на месте", "wrong_door": "Не та дверь", "damaged": "Повреждён"},
    decided_compensate="Заявка удовлетворена: выплатим {amount}",
    decided_reject="Заявка отклонена: фото подтверждает доставку к вашей двери",
    opened_at="Заявка открыта",
    sign_in_to_claim="Ссылка из уведомления только показывает заказ. Чтобы сообщить о проблеме, войдите в аккаунт.",
)

_EN = CustomerTexts(
    lang="en",
    title="Order {order_id}",
    status_label="Status",
    statuses={
        "pending": "On its way",
        "left_at_door": "Left at your door",
    },
    left_at="Left at",
    left_by="Courier",
    photo_alt="Photo of the parcel at the door",
    no_photo="No photo yet.",
    claim_heading="Claim",
    claim_deadline="You can report a problem until",
    not_there_button="It is not there",
    comment_label="Comment (optional)",
    claim_states={"open": "Under review", "decided": "Decided"},
    claim_kinds={"not_received": "It is not there", "wrong_door": "Wrong door", "damaged": "Damaged"},
    decided_compensate="Claim approved: we will pay you {amount}",
    decided_reject="Claim rejected: the photo shows the parcel delivered to your door",
    opened_at="Claim opened",
    sign_in_to_claim="The link in the notification only shows the order. To report a problem, sign in to your account.",
)

CUSTOMER_TEXTS: dict[str, CustomerTexts] = {"ru": _RU, "en": _EN}


def customer_texts(locale: str) -> CustomerTexts:
    """The texts for this locale; Russian when the locale is unsupported, as in the notifications."""
    return CUSTOMER_TEXTS.get(locale, _RU)
