"""How money and places are written for people: the one definition the pages, the API and the notices use."""

from __future__ import annotations

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
