"""Bytes in, verdict out: the delivery-photo verification.

Cost plan (figures per size and stage: `python -m bench.bench_photo`): the JPEG is decoded once,
straight to its luminance and chroma planes (`decode.py`: no colour conversion, no chroma
upsampling, buffers reused per thread); photos of 48 MP and more at scale 1/2, which keeps the
12 MP a label read needs. The entropy decoding in that decode is most of verify's cost and the
floor every decode pays. One box reduction of the luminance by an integer factor k = ceil(longest
side / customer_copy_max_side) gives the frame the customer copy (encoded from the reduced
planes, so no separate resize) and the perceptual hashes are made from; halving it once or twice
more gives the images the metrics are computed on, the sheet is located on and the doorstep
fingerprint (`doorstep.py`) is taken from. Only the label crop is read at the decoded resolution.
Pillow never decodes: it parses headers and EXIF only.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import numpy as np
from PIL import Image

from photo_pipeline.customer_copy import encode_customer_copy
from photo_pipeline.decode import decode_planes
from photo_pipeline.doorstep import Occluder, doorstep_fingerprint
from photo_pipeline.errors import InvalidPhoto
from photo_pipeline.expectations import Expectations, PhotoLimits
from photo_pipeline.jpeg_markers import JpegStructure, walk_jpeg
from photo_pipeline.label import LabelReading, find_label
from photo_pipeline.metadata import ExifFacts, read_exif
from photo_pipeline.orientation import oriented, swaps_axes
from photo_pipeline.perceptual import detail_hash, dhash
from photo_pipeline.provenance import edit_traces
from photo_pipeline.quality import laplacian_variance, median_luminance
from photo_pipeline.verdict import CaptureMetadata, Check, Verdict

__all__ = ["verify"]

# Bytes tolerated after the end-of-image marker: phone firmwares append small trailers (a
# Samsung S7 adds 67 bytes of "Image_UTC_Data"), encoders pad with 00/FF. Anything larger, or
# holding another JPEG (MPO frames, Google "motion photo" videos), is refused: the courier
# app captures single-frame JPEGs and a long tail is how polyglot files are built.
TRAILER_ALLOWANCE: Final = 128
PADDING_ALLOWANCE: Final = 4096

CUSTOMER_COPY_QUALITY: Final = 85
# A photo of at least this many pixels is decoded at scale 1/2: the half-size frame still has the
# 12 MP the label bounds are set for (a Code128 needs ~1.8 px per module), the scaled inverse DCT
# saves ~8% of the decode, and every later reduction and the customer copy's chroma get 4x
# smaller. A sheet seen whose code is not read on that frame is read again on a full-resolution
# decode, so no label readable at full size is lost; only those photos pay for two decodes.
HALVED_DECODE_MIN_PIXELS: Final = 48_000_000
_EARTH_RADIUS_M: Final = 6_371_008.8


# Called with a stage's name when it ends ("open", "decode", "reduce", "label", "metrics", "copy",
# "fingerprint", "hashes", "checks"): the caller reads its own clock, the pipeline has none.
StageHook = Callable[[str], None]


def _no_hook(stage: str) -> None:
    return None


def verify(
    data: bytes,
    expectations: Expectations,
    limits: PhotoLimits,
    *,
    sha256: str | None = None,
    on_stage: StageHook | None = None,
) -> Verdict:
    """Check a courier's delivery photo; raise InvalidPhoto if it is not an acceptable JPEG.

    `sha256` is the hex digest of `data` when the caller has already computed it (the API does,
    for the signature and idempotency): hashing 3 MB again costs ~2 ms. `on_stage` is told when
    each stage ends, so a benchmark or a metrics exporter can time them (`bench/bench_photo.py`).
    """
    try:
        return _verify(data, expectations, limits, sha256, on_stage or _no_hook)
    except InvalidPhoto:
        raise
    except Exception as exc:  # the contract: no other exception for any input bytes
        detail = f"image could not be processed ({type(exc).__name__})"
        raise InvalidPhoto("photo.undecodable", detail) from exc


def _verify(
    data: bytes, expectations: Expectations, limits: PhotoLimits, sha256: str | None, stage: StageHook
) -> Verdict:
    image, structure = _open(data, limits)
    width, height = image.size
    exif = read_exif(image)
    if structure.exif_segments and not exif.readable:
        # Structurally sound (walk_jpeg checked it) yet Pillow cannot parse it: nothing to judge it by.
        raise InvalidPhoto("photo.bad_exif", "the EXIF segment is present but cannot be parsed")
    stage("open")
    # One scan only: each scan of a progressive file is a pass over every block, at 1/2 as at
    # full scale, so the half-scale decode saves it little, and the second decode a sheet seen
    # but unread asks for would pay every pass again (85 scans of 48 MP: ~1.1 s a decode).
    halved = width * height >= HALVED_DECODE_MIN_PIXELS and structure.scans == 1
    planes = decode_planes(data, width, height, halved=halved)
    stage("decode")

    # Reductions are set in full-resolution pixels whatever the decode scale, so the metrics are
    # measured at the scale their thresholds were calibrated on (1/(2 factor) of the photo).
    factor = max(1, math.ceil(max(width, height) / limits.customer_copy_max_side))
    if halved:
        # The same frames as from a full decode: 1/factor of the photo (a 2.5x box for an odd
        # factor), on which the sheet is measured and the copy made, and 1/(2 factor).
        small_size = (-(-width // factor), -(-height // factor))
        small_l = (
            planes.luma.reduce(factor // 2)
            if factor % 2 == 0
            else planes.luma.resize(small_size, Image.Resampling.BOX, reducing_gap=1.0)
        )
        mid_l = planes.luma.reduce(factor)
    else:
        small_l = planes.luma.reduce(factor) if factor > 1 else planes.luma
        # ~1/6 of a 12 MP frame for the metrics, ~1/12 to locate the sheet.
        mid_l = small_l.reduce(2) if min(small_l.size) >= 400 else small_l
    small_gray = np.asarray(small_l)
    mid_gray = np.asarray(mid_l)
    low_gray = np.asarray(mid_l.reduce(2)) if min(mid_l.size) >= 400 else mid_gray
    oriented_l = oriented(small_l, exif.orientation)
    stage("reduce")

    label = find_label(planes.luma, small_gray, low_gray, expectations.label_code)
    label_frame = planes.luma.size  # what the code corners are measured in
    if halved and not label.codes and label.seen_unreadable is not None:
        # A sheet seen whose code the half-scale frame cannot resolve: read it again at full
        # size. Only then: with no sheet seen, or a code read (a full-size read of the same sheet
        # finds the same code; the sheet is measured on the same 1/factor frame either way), a
        # second decode could not change the verdict, and a photo made to show no label must not
        # cost two decodes. Fresh memory: the customer copy is still to be made from the
        # half-scale planes.
        full = decode_planes(data, width, height, fresh=True).luma
        label = find_label(full, small_gray, low_gray, expectations.label_code)
        label_frame = full.size
    stage("label")
    blur = laplacian_variance(mid_gray)
    luminance = median_luminance(mid_gray)
    stage("metrics")
    copy = encode_customer_copy(planes, oriented_l, exif.orientation, CUSTOMER_COPY_QUALITY)
    stage("copy")
    doorstep = doorstep_fingerprint(mid_l, exif.orientation, _occluders(label, *label_frame))
    stage("fingerprint")
    if sha256 is None:
        sha256 = hashlib.sha256(data).hexdigest()
    perceptual_hash, detail = dhash(oriented_l), detail_hash(oriented_l)
    stage("hashes")

    distance = _distance(exif, expectations)
    shown_w, shown_h = (height, width) if swaps_axes(exif.orientation) else (width, height)
    capture = CaptureMetadata(
        captured_at=exif.captured_at,
        lat=exif.lat,
        lon=exif.lon,
        distance_m=distance,
        orientation=exif.orientation,
        make=exif.make,
        model=exif.model,
        software=exif.software,
        image_unique_id=exif.image_unique_id,
        width=shown_w,
        height=shown_h,
    )
    matched = next((c.text for c in label.codes if c.text == expectations.label_code), None)
    checks = (
        _check_nonce(exif, expectations),
        _check_capture_time(exif, expectations, limits),
        _check_edited(exif, structure, width, height),
        _check_gps(exif, distance, limits),
        *_check_label(label, matched, limits),
        Check(
            code="quality.blur",
            passed=blur >= limits.blur_min,
            detail=f"sharpness {blur:.1f} (minimum {limits.blur_min:g})",
        ),
        _check_exposure(luminance, limits),
    )
    verdict = Verdict(
        checks=checks,
        capture=capture,
        sha256=sha256,
        perceptual_hash=perceptual_hash,
        detail_hash=detail,
        label_share=label.share,
        decoded_label=matched if matched is not None else (label.codes[0].text if label.codes else None),
        customer_copy=copy,
        doorstep=doorstep,
    )
    stage("checks")
    return verdict


# The label sheet and the parcel under it move and differ between deliveries: their corners are
# left out of the doorstep fingerprint. The sheet is located, the parcel is not, so the masked
# box is the sheet grown by this many sheet lengths each way (the parcel's face around it); the
# rest of the parcel is left to the fingerprint's geometric check, which it never agrees with.
_OCCLUDER_MARGIN: Final = 0.5
_SHEET_ASPECT: Final = 1.5  # a 100x150 mm label


def _occluders(label: LabelReading, width: int, height: int) -> tuple[Occluder, ...]:
    boxes: list[Occluder] = []
    frame = float(width * height)
    for code in label.codes:
        xs = [x for x, _ in code.corners]
        ys = [y for _, y in code.corners]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        if label.share is not None:
            long_side = math.sqrt(label.share * frame * _SHEET_ASPECT)
        else:  # codes fill about half the sheet across
            long_side = 2.0 * max(max(xs) - min(xs), max(ys) - min(ys))
        half = long_side * (0.5 + _OCCLUDER_MARGIN)
        boxes.append(
            Occluder(
                left=(cx - half) / width,
                top=(cy - half) / height,
                right=(cx + half) / width,
                bottom=(cy + half) / height,
            )
        )
    return tuple(boxes)


# --- decoding ----------------------------------------------------------------------------------


def _open(data: bytes, limits: PhotoLimits) -> tuple[Image.Image, JpegStructure]:
    if not data:
        raise InvalidPhoto("photo.empty", "the body is empty")
    if len(data) > limits.max_bytes:
        raise InvalidPhoto("photo.too_many_bytes", f"{len(data)} bytes, limit {limits.max_bytes}")
    if data[:2] != b"\xff\xd8":
        raise InvalidPhoto("photo.not_jpeg", "not a JPEG (no start-of-image marker)")
    try:
        image = Image.open(io.BytesIO(data), formats=["JPEG"])
        width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidPhoto("photo.too_many_pixels", str(exc)) from exc
    except Exception as exc:  # UnidentifiedImageError, OSError, SyntaxError, struct errors...
        raise InvalidPhoto("photo.undecodable", f"JPEG header unreadable ({type(exc).__name__})") from exc
    if width <= 0 or height <= 0:
        raise InvalidPhoto("photo.undecodable", f"impossible size {width}x{height}")
    if width * height > limits.max_pixels:
        raise InvalidPhoto("photo.too_many_pixels", f"{width}x{height}, limit {limits.max_pixels} pixels")
    if width * height < limits.min_pixels:
        # No phone camera in service shoots below this, and a label cannot be read on less.
        raise InvalidPhoto("photo.too_few_pixels", f"{width}x{height}, minimum {limits.min_pixels} pixels")
    if max(width, height) > limits.max_side:
        raise InvalidPhoto("photo.too_large_dimensions", f"{width}x{height}, limit {limits.max_side} px")
    if image.mode not in ("RGB", "L"):
        raise InvalidPhoto("photo.undecodable", f"unsupported JPEG colour mode {image.mode}")
    structure = walk_jpeg(data)
    trailing = structure.trailing
    if trailing and not _tolerated_trailer(trailing):
        raise InvalidPhoto("photo.trailing_data", f"{len(trailing)} bytes after the end-of-image marker")
    return image, structure


def _tolerated_trailer(trailing: bytes) -> bool:
    if len(trailing) <= PADDING_ALLOWANCE and not trailing.strip(b"\x00\xff"):
        return True
    return len(trailing) <= TRAILER_ALLOWANCE and b"\xff\xd8" not in trailing


# --- checks ------------------------------------------------------------------------------------


def _check_nonce(exif: ExifFacts, expectations: Expectations) -> Check:
    found = exif.image_unique_id
    if found is None:
        return Check(code="provenance.nonce", passed=False, detail="no ImageUniqueID: not taken in the app")
    if found != expectations.nonce:
        return Check(code="provenance.nonce", passed=False, detail="ImageUniqueID is another session's nonce")
    return Check(code="provenance.nonce", passed=True, detail="ImageUniqueID matches the session nonce")


def _check_capture_time(exif: ExifFacts, expectations: Expectations, limits: PhotoLimits) -> Check:
    code = "provenance.capture_time"
    if exif.local_time is None:
        return Check(code=code, passed=False, detail="no valid DateTimeOriginal")
    captured = exif.captured_at
    if captured is None:
        # The app always writes the offset; without it the instant is unknown by up to ±14 h.
        return Check(code=code, passed=False, detail="no valid OffsetTimeOriginal: capture instant unknown")
    skew = timedelta(seconds=limits.clock_skew_s)
    earliest = expectations.session_opened_at - skew
    latest = min(expectations.session_expires_at, expectations.now + skew)
    stamp = _iso(captured)
    if captured < earliest:
        return Check(code=code, passed=False, detail=f"captured {stamp}, before the session opened")
    if captured > latest:
        return Check(code=code, passed=False, detail=f"captured {stamp}, after the session or in the future")
    return Check(code=code, passed=True, detail=f"captured {stamp}")


def _check_edited(exif: ExifFacts, structure: JpegStructure, width: int, height: int) -> Check:
    traces = edit_traces(exif, structure, width, height)
    if traces:
        return Check(code="provenance.edited", passed=False, detail="; ".join(traces))
    return Check(code="provenance.edited", passed=True, detail="no traces of editing")


def _check_gps(exif: ExifFacts, distance: float | None, limits: PhotoLimits) -> Check:
    code = "location.gps"
    if exif.lat is None or exif.lon is None:
        return Check(code=code, passed=False, detail="no valid GPS position")
    if exif.lat == 0.0 and exif.lon == 0.0:
        return Check(code=code, passed=False, detail="GPS 0,0 is a placeholder, not a fix")
    assert distance is not None
    return Check(
        code=code,
        passed=distance <= limits.gps_radius_m,
        detail=f"{distance:.0f} m from the address (limit {limits.gps_radius_m:g} m)",
    )


def _check_label(label: LabelReading, matched: str | None, limits: PhotoLimits) -> tuple[Check, ...]:
    share = label.share
    if label.codes:
        found = Check(code="label.found", passed=True, detail=f"{len(label.codes)} code(s) decoded")
    elif label.seen_unreadable is not None:
        found = Check(
            code="label.found",
            passed=False,
            detail=f"a label is seen ({share:.1%} of the frame) but its code cannot be read",
        )
    else:
        found = Check(code="label.found", passed=False, detail="no label barcode found")
    if matched is not None:
        matches = Check(code="label.matches_order", passed=True, detail="the label code is the order's")
    elif label.codes:
        matches = Check(code="label.matches_order", passed=False, detail="the label code is another order's")
    else:
        matches = Check(code="label.matches_order", passed=False, detail="no label code to compare")
    if share is None:
        small = Check(code="label.too_small", passed=True, detail="no label to measure")
        large = Check(code="label.too_large", passed=True, detail="no label to measure")
    elif not label.measured:
        # The sheet's edges could not be told from its surroundings: refuse only what the code's
        # own geometry proves to be outside the bounds, never an estimate.
        low = label.share_low if label.share_low is not None else share
        high = label.share_high if label.share_high is not None else share
        about = f"label covers about {share:.1%} of the frame (estimated from its code's size)"
        small = Check(
            code="label.too_small",
            passed=high >= limits.label_min_share,
            detail=f"{about}, at most {high:.1%} (minimum {limits.label_min_share:.1%})",
        )
        large = Check(
            code="label.too_large",
            passed=low <= limits.label_max_share,
            detail=f"{about}, at least {low:.1%} (maximum {limits.label_max_share:.1%})",
        )
    else:
        small = Check(
            code="label.too_small",
            passed=share >= limits.label_min_share,
            detail=f"label covers {share:.1%} of the frame (minimum {limits.label_min_share:.1%})",
        )
        large = Check(
            code="label.too_large",
            passed=share <= limits.label_max_share,
            detail=f"label covers {share:.1%} of the frame (maximum {limits.label_max_share:.1%})",
        )
    return found, matches, small, large


def _check_exposure(luminance: float, limits: PhotoLimits) -> Check:
    code = "quality.exposure"
    if luminance <= limits.exposure_dark_max:
        return Check(code=code, passed=False, detail=f"too dark (median luminance {luminance:.0f})")
    if luminance >= limits.exposure_bright_min:
        return Check(code=code, passed=False, detail=f"blown out (median luminance {luminance:.0f})")
    return Check(code="quality.exposure", passed=True, detail=f"median luminance {luminance:.0f}")


def _distance(exif: ExifFacts, expectations: Expectations) -> float | None:
    if exif.lat is None or exif.lon is None or (exif.lat == 0.0 and exif.lon == 0.0):
        return None
    return haversine_m(exif.lat, exif.lon, expectations.address_lat, expectations.address_lon)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
