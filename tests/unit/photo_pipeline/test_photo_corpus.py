"""Real-world files from ../shared/corpus: barcodes, negatives, phone EXIF, malformed inputs.

The zxing barcode photos are PNG upstream; a JPEG-only upload policy refuses them, so the
barcode stage (`photo_pipeline.barcode.read_codes`) is tested on them directly. Two positives
are not readable by zxing-cpp 3.1.1 with any setting (code128-2/30, qrcode-4/30): for those the
only acceptable outcome is "no code", which makes `verify` ask for a retake, never a wrong match.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from photo_pipeline import INVALID_PHOTO_CODES, Expectations, InvalidPhoto, PhotoLimits, verify
from photo_pipeline.barcode import read_codes
from photo_pipeline.metadata import read_exif
from tests.corpus import corpus_dir

pytestmark = pytest.mark.corpus

UNREADABLE_BY_ZXING = frozenset({"zx_code128-2_30.png", "zx_qrcode-4_30.png"})


def _manifest() -> dict[str, dict[str, Any]]:
    manifest = json.loads((corpus_dir() / "manifest.json").read_text())
    return {entry["file"]: entry for entry in manifest["files"]}


def _names(folder: str, suffixes: tuple[str, ...]) -> list[str]:
    # Collected at import time without skipping; tests skip through corpus_dir() if absent.
    root = Path(__file__).resolve().parents[4] / "shared" / "corpus" / folder
    return sorted(p.name for p in root.glob("*") if p.suffix in suffixes) if root.is_dir() else ["<absent>"]


@pytest.mark.parametrize("name", _names("barcodes", (".png", ".jpg")))
def test_corpus_barcode_decodes_or_reads_nothing(name: str) -> None:
    path = corpus_dir() / "barcodes" / name
    expected = path.with_suffix(".txt").read_text(encoding="utf-8")
    with Image.open(path) as image:
        texts = [code.text for code in read_codes(image.convert("L"))]
    # Upstream .txt files store CRLF payloads with LF: compare line endings loosely only here.
    normalised = [text.replace("\r\n", "\n") for text in texts]
    if name in UNREADABLE_BY_ZXING:
        assert texts == [], texts
    else:
        assert expected in normalised, texts


@pytest.mark.parametrize("name", _names("barcodes_negative", (".png",)))
def test_corpus_negative_never_matches(name: str) -> None:
    path = corpus_dir() / "barcodes_negative" / name
    with Image.open(path) as image:
        gray = image.convert("RGBA").convert("L")  # palette PNGs with byte transparency
        for angle in (0, 90, 180, 270):
            assert read_codes(gray.rotate(angle, expand=True)) == []


@pytest.mark.parametrize("name", ["zxc_datamatrix-3_dm-1.jpg", "zxc_qrcode-2_199b.jpg"])
def test_corpus_jpeg_barcode_through_verify(name: str, any_size: PhotoLimits) -> None:
    path = corpus_dir() / "barcodes" / name
    expected = path.with_suffix(".txt").read_text(encoding="utf-8")
    verdict = verify(path.read_bytes(), _session(expected), any_size)
    assert verdict.decoded_label == expected
    assert verdict.check("label.matches_order").passed


def test_corpus_unreadable_label_asks_for_retake(any_size: PhotoLimits) -> None:
    # Derived artefact: the PNG transcoded to JPEG in memory; the original stays in the corpus.
    path = corpus_dir() / "barcodes" / "zx_code128-2_30.png"
    buf = BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buf, "JPEG", quality=95)
    verdict = verify(buf.getvalue(), _session(path.with_suffix(".txt").read_text()), any_size)
    assert verdict.decoded_label is None
    assert not verdict.check("label.found").passed
    assert not verdict.accepted


@pytest.mark.parametrize("name", _names("exif_photos", (".jpg",)))
def test_corpus_phone_exif(name: str, any_size: PhotoLimits) -> None:
    entry = _manifest()[f"exif_photos/{name}"]
    observed = entry["observed"]
    data = (corpus_dir() / "exif_photos" / name).read_bytes()
    with Image.open(corpus_dir() / "exif_photos" / name) as image:
        facts = read_exif(image)
    assert facts.orientation == (observed["orientation"] or 1)
    expected_gps = observed.get("gps_decimal")
    if expected_gps is None:
        assert facts.lat is None
    else:
        assert facts.lat == pytest.approx(expected_gps[0], abs=1e-4)
        assert facts.lon == pytest.approx(expected_gps[1], abs=1e-4)
    sidecar = corpus_dir() / "exif_photos" / f"{name}.metadata-extractor.txt"
    if sidecar.exists():
        line = next(x for x in sidecar.read_text().splitlines() if "Date/Time Original" in x)
        assert facts.local_time is not None
        assert facts.local_time.strftime("%Y:%m:%d %H:%M:%S") == line.split("= ")[1].strip()
    verdict = verify(data, _session("no-label"), any_size)
    assert verdict.capture.orientation == facts.orientation
    # None of these phones wrote OffsetTimeOriginal: the instant is unknown and the check fails.
    assert verdict.capture.captured_at is None
    assert not verdict.check("provenance.capture_time").passed
    assert not verdict.check("provenance.nonce").passed
    if expected_gps == [0.0, 0.0]:
        assert "placeholder" in verdict.check("location.gps").detail


# Legal JPEGs among the malformed files: they must produce a verdict. The rest must raise.
LEGAL_JPEGS = frozenset(
    {
        "piexif_noapp01.jpg",
        "pil_broken_exif_dpi.jpg",
        "pil_empty_gps_ifd.jpg",
        "pil_exif-dpi-zerodivision.jpg",
        "pil_exif-ifd-offset.jpg",
        "pil_exif_gps.jpg",
        "pil_exif_gps_typeerror.jpg",
        "pil_invalid-exif-without-x-resolution.jpg",
        "pil_invalid-exif.jpg",
        "pil_multiple_exif.jpg",
        "pil_truncated_exif_dpi.jpg",
    }
)


MALFORMED_SUFFIXES = (".jpg", ".png", ".gif", ".ico", ".bmp", ".tif", ".ppm")


@pytest.mark.parametrize("name", _names("malformed", MALFORMED_SUFFIXES))
def test_corpus_malformed_is_refused_with_a_photo_code(name: str, limits: PhotoLimits) -> None:
    data = (corpus_dir() / "malformed" / name).read_bytes()
    with pytest.raises(InvalidPhoto) as caught:
        verify(data, _session("x"), limits)
    assert caught.value.code in INVALID_PHOTO_CODES


@pytest.mark.parametrize("name", sorted(LEGAL_JPEGS))
def test_corpus_malformed_legal_jpegs_are_never_accepted_at_any_size(
    name: str, any_size: PhotoLimits
) -> None:
    """Without the size floor, the decodable ones still never pass: refused, or a rejected verdict."""
    data = (corpus_dir() / "malformed" / name).read_bytes()
    try:
        verdict = verify(data, _session("x"), any_size)
    except InvalidPhoto as refused:
        code: str | None = refused.code
    else:
        code = None
        assert not verdict.accepted
        if name == "pil_exif_gps.jpg":
            assert verdict.capture.lat is None
    assert code is None or code in INVALID_PHOTO_CODES


@pytest.fixture
def any_size() -> PhotoLimits:
    """Default limits without the size floor: corpus samples are small crops of real photos."""
    return PhotoLimits(min_pixels=1)


def _session(label_code: str) -> Expectations:
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    return Expectations(
        nonce="n",
        label_code=label_code,
        session_opened_at=now - timedelta(minutes=10),
        session_expires_at=now + timedelta(minutes=10),
        now=now,
        address_lat=55.75,
        address_lon=37.62,
    )
