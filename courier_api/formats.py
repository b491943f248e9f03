"""How money and places are written for people: the one definition the pages, the API and the notices use."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

NARROW_NO_BREAK_SPACE = "\u202f"


def rubles(kopecks: int) -> str:
    """Roubles with two decimals and no grouping, as notices embed them: 123456 -> "1234.56"."""
    whole, rest = divmod(kopecks, 100)
    return f"{whole}.{rest:02d}"


def rub(kopecks: int | None) -> str:
    """Roubles as the pages show them, thousands grouped, with the sign: 123456 -> "1 234.56 ₽"."""
    if kopecks is None:
        return ""
    whole, rest = divmod(kopecks, 100)
    return f"{whole:,}".replace(",", NARROW_NO_BREAK_SPACE) + f".{rest:02d} ₽"


def map_url(lat: float | None, lon: float | None) -> str | None:
    """The place on OpenStreetMap, pinned and zoomed to the street; None without both coordinates."""
    if lat is None or lon is None:
        return None
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=19/{lat:.6f}/{lon:.6f}"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(value: datetime, zone_name: str) -> str:
    """A moment as people in `zone_name` read it, with the zone's abbreviation: "2026-11-29 15:05 MSK".

    IANA gives most Russian zones no letters, only an offset ("+05"); those read "UTC+5".
    """
    local = value.astimezone(_zone(zone_name))
    abbreviation = local.tzname() or ""
    if abbreviation[:1] in "+-":
        hours, minutes = int(abbreviation[1:3]), abbreviation[3:5]
        abbreviation = f"UTC{abbreviation[0]}{hours}" + (f":{minutes}" if minutes and minutes != "00" else "")
    return f"{local:%Y-%m-%d %H:%M} {abbreviation}"
