"""Where each rollout city keeps its clocks: city code -> IANA time zone.

Times are stored and served in UTC; pages and notices show them in the order's city, the way people
there read a clock. Cities not listed here are shown in Moscow time, the zone most of the rollout is in.
"""

from __future__ import annotations

from typing import Final

DEFAULT_TIME_ZONE: Final = "Europe/Moscow"

CITY_TIME_ZONES: Final[dict[str, str]] = {
    "MOW": "Europe/Moscow",
    "SPB": "Europe/Moscow",
    "KZN": "Europe/Moscow",
    "NNV": "Europe/Moscow",  # Nizhny Novgorod
    "KRR": "Europe/Moscow",  # Krasnodar
    "ROV": "Europe/Moscow",  # Rostov-on-Don
    "VOG": "Europe/Volgograd",
    "KGD": "Europe/Kaliningrad",
    "SMR": "Europe/Samara",
    "UFA": "Asia/Yekaterinburg",
    "EKB": "Asia/Yekaterinburg",
    "CHE": "Asia/Yekaterinburg",  # Chelyabinsk
    "PER": "Asia/Yekaterinburg",  # Perm
    "OMS": "Asia/Omsk",
    "NSK": "Asia/Novosibirsk",
    "KRS": "Asia/Krasnoyarsk",
    "IKT": "Asia/Irkutsk",
    "VVO": "Asia/Vladivostok",
    "KHV": "Asia/Vladivostok",  # Khabarovsk
}


def city_time_zone(city: str) -> str:
    """The IANA zone of a city code; Moscow time for a city not in the table."""
    return CITY_TIME_ZONES.get(city, DEFAULT_TIME_ZONE)
