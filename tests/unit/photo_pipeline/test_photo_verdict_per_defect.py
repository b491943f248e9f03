"""Each kind of bad photo the generator makes fails exactly its documented checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from photo_pipeline import CHECK_CODES, Expectations, PhotoLimits, hamming, verify
from tests.photo_factory import (
    DEFAULT_ADDRESS,
    DEFAULT_CAPTURED_AT,
    BarcodeKind,
    PhotoSpec,
    make_photo,
    offset_point,
)

# 2000x1500 keeps the suite fast and still gives a 4% Code128 label ~2.8 px per module.
BASE = PhotoSpec(width=2000, height=1500)
LABEL = frozenset({"label.found", "label.matches_order"})

# kind -> (changes to the good photo, checks that must fail, further checks allowed to fail)
DEFECTS: dict[str, tuple[dict[str, Any], frozenset[str], frozenset[str]]] = {
    "gallery_photo_without_nonce": ({"nonce": None}, frozenset({"provenance.nonce"}), frozenset()),
    "another_sessions_nonce": ({"nonce": "another-session"}, frozenset({"provenance.nonce"}), frozenset()),
    "captured_before_session": (
        {"captured_at": DEFAULT_CAPTURED_AT - timedelta(hours=2)},
        frozenset({"provenance.capture_time"}),
        frozenset(),
    ),
    "captured_in_the_future": (
        {"captured_at": DEFAULT_CAPTURED_AT + timedelta(minutes=15)},
        frozenset({"provenance.capture_time"}),
        frozenset(),
    ),
    "capture_time_without_offset": (
        {"utc_offset": None},
        frozenset({"provenance.capture_time"}),
        frozenset(),
    ),
    "software_tag_names_editor": (
        {"software": "Adobe Photoshop 25.0 (Windows)"},
        frozenset({"provenance.edited"}),
        frozenset(),
    ),
    "software_tag_snapseed": ({"software": "Snapseed 2.0"}, frozenset({"provenance.edited"}), frozenset()),
    "adobe_app14_marker": ({"adobe_app14": True}, frozenset({"provenance.edited"}), frozenset()),
    "two_exif_segments": ({"duplicate_exif": True}, frozenset({"provenance.edited"}), frozenset()),
    "modify_date_after_capture": (
        {"modify_date": DEFAULT_CAPTURED_AT + timedelta(hours=3)},
        frozenset({"provenance.edited"}),
        frozenset(),
    ),
    # Resizing also costs the label its resolution: it may become unreadable.
    "resized_and_reencoded": ({"resave_scale": 0.9}, frozenset({"provenance.edited"}), LABEL),
    "far_from_address": (
        dict(zip(("lat", "lon"), offset_point(*DEFAULT_ADDRESS, 400.0, 0.0), strict=True)),
        frozenset({"location.gps"}),
        frozenset(),
    ),
    "no_gps": ({"include_gps": False}, frozenset({"location.gps"}), frozenset()),
    "null_island_gps": ({"lat": 0.0, "lon": 0.0}, frozenset({"location.gps"}), frozenset()),
    "no_exif_at_all": (
        {"include_exif": False},
        frozenset({"provenance.nonce", "provenance.capture_time", "location.gps"}),
        frozenset(),
    ),
    "label_missing": ({"include_label": False}, LABEL, frozenset()),
    "label_of_another_order": (
        {"label_text": "DD2026000999RU"},
        frozenset({"label.matches_order"}),
        frozenset(),
    ),
    "label_too_small": ({"label_share": 0.01}, frozenset({"label.too_small"}), LABEL),
    "label_too_large": ({"label_share": 0.25}, frozenset({"label.too_large"}), frozenset()),
    "blurred": ({"blur_radius": 6.0}, frozenset({"quality.blur"}), LABEL),
    "dark": ({"brightness": 0.3}, frozenset({"quality.exposure"}), frozenset()),
    # A blown-out sheet merges with a blown-out wall: the label is lost with the exposure, and
    # what is left of it may measure too large (merged) or too small (a fragment).
    "overexposed": (
        {"brightness": 2.5},
        frozenset({"quality.exposure"}),
        LABEL | {"label.too_large", "label.too_small"},
    ),
}


@pytest.mark.parametrize("kind", sorted(DEFECTS))
def test_defect_fails_its_documented_checks(
    kind: str, expectations: Expectations, limits: PhotoLimits
) -> None:
    changes, must_fail, may_fail = DEFECTS[kind]
    spec = replace(BASE, **changes)
    verdict = verify(make_photo(spec), expectations, limits)
    assert must_fail <= verdict.failed_codes, [c for c in verdict.checks if not c.passed]
    assert verdict.failed_codes <= must_fail | may_fail, [c for c in verdict.checks if not c.passed]
    assert not verdict.accepted


def test_good_photo_passes_every_check(expectations: Expectations, limits: PhotoLimits) -> None:
    data = make_photo(BASE)
    verdict = verify(data, expectations, limits)
    assert [c.code for c in verdict.checks] == list(CHECK_CODES)
    assert verdict.accepted, [c for c in verdict.checks if not c.passed]
    assert verdict.decoded_label == expectations.label_code
    assert verdict.label_share is not None
    assert verdict.label_share == pytest.approx(0.04, abs=0.004)
    capture = verdict.capture
    assert capture.captured_at == DEFAULT_CAPTURED_AT
    assert capture.image_unique_id == expectations.nonce
    assert capture.distance_m is not None
    assert capture.distance_m < 1.0
    assert (capture.width, capture.height) == (2000, 1500)
    assert len(verdict.sha256) == 64
    assert 0 <= verdict.perceptual_hash < 2**64


@pytest.mark.parametrize("barcode", ["qr", "datamatrix"])
def test_matrix_code_labels_are_read(
    barcode: BarcodeKind, expectations: Expectations, limits: PhotoLimits
) -> None:
    spec = replace(BASE, barcode=barcode, label_share=0.03)
    verdict = verify(make_photo(spec), expectations, limits)
    assert verdict.accepted, [c for c in verdict.checks if not c.passed]


def test_label_turned_ninety_degrees_is_read(expectations: Expectations, limits: PhotoLimits) -> None:
    spec = replace(BASE, angle=90.0)
    assert verify(make_photo(spec), expectations, limits).accepted


def test_gps_within_radius_passes_and_reports_distance(
    expectations: Expectations, limits: PhotoLimits
) -> None:
    lat, lon = offset_point(*DEFAULT_ADDRESS, -60.0, 80.0)  # 100 m south-east, southern/western refs unused
    spec = replace(BASE, lat=lat, lon=lon)
    verdict = verify(make_photo(spec), expectations, limits)
    assert verdict.check("location.gps").passed
    assert verdict.capture.distance_m == pytest.approx(100.0, abs=1.0)
    assert "100 m" in verdict.check("location.gps").detail


def test_southern_western_hemispheres_are_negative(expectations: Expectations, limits: PhotoLimits) -> None:
    spec = replace(BASE, lat=-33.8688, lon=-70.6693)
    verdict = verify(make_photo(spec), expectations, limits)
    assert verdict.capture.lat == pytest.approx(-33.8688, abs=1e-5)
    assert verdict.capture.lon == pytest.approx(-70.6693, abs=1e-5)
    assert not verdict.check("location.gps").passed


def test_same_scene_reencoded_keeps_perceptual_hash(expectations: Expectations, limits: PhotoLimits) -> None:
    first = verify(make_photo(BASE), expectations, limits)
    again = verify(make_photo(replace(BASE, quality=75)), expectations, limits)
    other = verify(make_photo(replace(BASE, seed=5)), expectations, limits)
    assert first.sha256 != again.sha256
    assert hamming(first.perceptual_hash, again.perceptual_hash) <= 4
    assert hamming(first.perceptual_hash, other.perceptual_hash) > 8


def test_customer_copy_has_no_metadata_and_fits(expectations: Expectations, limits: PhotoLimits) -> None:
    verdict = verify(make_photo(BASE), expectations, limits)
    copy = verdict.customer_copy
    assert copy[:2] == b"\xff\xd8"
    assert b"Exif" not in copy
    assert b"http://ns.adobe.com/xap" not in copy
    with Image.open(BytesIO(copy)) as image:
        assert max(image.size) <= limits.customer_copy_max_side
        assert not image.getexif()
