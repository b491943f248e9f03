"""Address identity: which orders are at the same door, and which map cells a building's search covers."""

from __future__ import annotations

import pytest

from infra.addresses import address_key, cells_around, geo_cell, normalise_address
from infra.documents import Address

TVERSKAYA = "улица тверская 7 квартира 12"


@pytest.mark.parametrize(
    "text",
    [
        "Москва, ул. Тверская, д. 7, кв. 12",  # the demo's spelling
        "москва ул тверская д 7 кв 12",  # case and punctuation
        "МОСКВА,  УЛ.ТВЕРСКАЯ,Д.7,КВ.12",  # no spaces after the dots, doubled spaces
        "г. Москва, улица Тверская, дом 7, квартира 12",  # words spelt out, the city designator
        "Москва\tул. Тверская 7  кв.12 ",  # tabs and trailing space
        "Москва, ул. Тверская, д. 7, кв. 12.",  # a full stop at the end
    ],
)
def test_spellings_of_one_flat_normalise_alike(text: str) -> None:
    assert normalise_address(text) == f"москва {TVERSKAYA}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Королёв, ул. Лётчиков, 3", "королев улица летчиков 3"),  # ё and е are one letter here
        ("Ростов-на-Дону, пр. Будённовский, 5", "ростов-на-дону проспект буденновский 5"),  # hyphens kept
        ("СПб, Невский пр-т, 1 - 2", "спб невский проспект 1 2"),  # a free-standing dash is punctuation
        ("Казань, б-р Ямашева, к. 2, стр. 1", "казань бульвар ямашева корпус 2 строение 1"),
        ("ＭＯＳＣＯＷ，ул．Арбат", "moscow улица арбат"),  # full-width forms (NFKC)
    ],
)
def test_the_normaliser_folds_letters_abbreviations_and_punctuation(text: str, expected: str) -> None:
    assert normalise_address(text) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Москва, ул. Тверская, д. 7, кв. 12", "Москва, ул. Тверская, д. 7, кв. 13"),  # the neighbour's flat
        ("Москва, ул. Тверская, д. 7, кв. 12", "Москва, ул. Тверская, д. 7"),  # the building, not the flat
        ("Москва, ул. Ленина, 7", "Москва, пр. Ленина, 7"),  # a street and an avenue of one name
        ("Москва, ул. Тверская, 7, кв. 12", "Москва, ул. Тверская, 17, кв. 2"),  # digits are not merged
    ],
)
def test_different_doors_keep_different_keys(first: str, second: str) -> None:
    assert normalise_address(first) != normalise_address(second)


def test_an_upstream_address_id_decides_over_the_text() -> None:
    one = Address(text="Москва, ул. Тверская, 7, кв. 12", lat=55.75, lon=37.61, id="addr-1")
    retyped = Address(text="г. Москва, Тверская улица 7-12", lat=55.75, lon=37.61, id="addr-1")
    neighbour = Address(text="Москва, ул. Тверская, 7, кв. 12", lat=55.75, lon=37.61, id="addr-2")
    no_id = Address(text="Москва, ул. Тверская, 7, кв. 12", lat=55.75, lon=37.61)
    assert address_key(one) == address_key(retyped) == "id:addr-1"
    assert address_key(one) != address_key(neighbour)
    # An id and a text never equal each other, even for the same words.
    assert address_key(no_id) == "text:москва улица тверская 7 квартира 12" != address_key(one)


def test_the_cell_search_covers_the_building_and_its_neighbours() -> None:
    lat, lon = 55.751244, 37.618423
    cells = cells_around(lat, lon)
    assert len(cells) == len(set(cells)) == 9
    assert cells == sorted(cells)  # the order their locks are taken in
    assert cells[4] == geo_cell(lat, lon)
    # ~100 m away in any direction is in the block; ~1 km away is not.
    for dlat, dlon in ((0.0009, 0), (-0.0009, 0), (0, 0.0016), (0, -0.0016), (0.0009, 0.0016)):
        assert geo_cell(lat + dlat, lon + dlon) in cells
    assert geo_cell(lat + 0.009, lon) not in cells
    assert geo_cell(lat, lon + 0.016) not in cells


def test_cells_across_the_meridian_and_the_equator_stay_distinct() -> None:
    around = {geo_cell(lat, lon) for lat in (-0.001, 0.001) for lon in (-0.001, 0.001)}
    assert len(around) == 4
    assert len(set(cells_around(-0.0001, -0.0001))) == 9
