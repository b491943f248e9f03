"""Address identity: when two orders are at the same door, and which map cell a building is in.

Pure functions (no I/O), kept beside the wire `Address` they read. Two orders are at the same
address only if their keys are equal: the upstream system's stable `address.id` when it sends one,
else the normalised text including the apartment. Keys of the two kinds never equal each other, so
an order with an id and one without are different addresses (the upstream system either knows its
addresses or it does not; guessing across the two would merge different flats).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Final

from infra.documents import Address

# Map cells of 1/600 degree of latitude (~185 m) by 1/400 degree of longitude (~160 m in Moscow,
# ~140 m in St Petersburg, ~100 m above the Arctic circle): about a building and its neighbours.
# A cell and its eight neighbours cover at least one cell width around an address.
_LAT_CELLS_PER_DEGREE: Final = 600
_LON_CELLS_PER_DEGREE: Final = 400
# The cell id packs (row, column); columns span -72,000..72,000, well inside one row's stride.
_ROW_STRIDE: Final = 1_000_000

# Whole words (after lower-casing, ё -> е and punctuation to spaces) that mean the same thing.
_SYNONYMS: Final = {
    "ул": "улица",
    "пр": "проспект",
    "пр-т": "проспект",
    "просп": "проспект",
    "пер": "переулок",
    "пл": "площадь",
    "б-р": "бульвар",
    "бул": "бульвар",
    "ш": "шоссе",
    "наб": "набережная",
    "г": "город",
    "д": "дом",
    "к": "корпус",
    "корп": "корпус",
    "стр": "строение",
    "кв": "квартира",
    "под": "подъезд",
    "эт": "этаж",
    "обл": "область",
}
# Punctuation becomes a space; a hyphen inside a word (б-р, Ростов-на-Дону) is kept.
_PUNCTUATION: Final = re.compile(r"[^\w\s-]|(?<!\w)-|-(?!\w)")
_SPACES: Final = re.compile(r"\s+")


# Designators that add nothing once expanded: "г. Москва" is "Москва", "д. 7" is "7" (the number
# stays). Street kinds stay: "ул. Ленина" and "пр. Ленина" are different streets.
_FILLERS: Final = frozenset({"город", "дом"})


def normalise_address(text: str) -> str:
    """The address text as a comparable key: case, ё/е, punctuation, abbreviations and spacing folded."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    words = (_SYNONYMS.get(word, word) for word in _SPACES.split(_PUNCTUATION.sub(" ", folded).strip()))
    return " ".join(word for word in words if word and word not in _FILLERS)


def address_key(address: Address) -> str:
    """Equal for two orders exactly when they are at the same address (see the module docstring)."""
    if address.id is not None:
        return f"id:{address.id}"
    return f"text:{normalise_address(address.text)}"


def geo_cell(lat: float, lon: float) -> int:
    """The map cell an address is in (see `_LAT_CELLS_PER_DEGREE`)."""
    row = math.floor(lat * _LAT_CELLS_PER_DEGREE)
    column = math.floor(lon * _LON_CELLS_PER_DEGREE)
    return row * _ROW_STRIDE + column


def cells_around(lat: float, lon: float) -> list[int]:
    """The address's cell and its eight neighbours, ascending (the order their locks are taken in)."""
    centre = geo_cell(lat, lon)
    return sorted(centre + rows * _ROW_STRIDE + columns for rows in (-1, 0, 1) for columns in (-1, 0, 1))
