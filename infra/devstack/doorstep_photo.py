"""Synthetic in-app delivery photos: `courier-api simulate`, the tests and the benchmarks.

`make_photo(PhotoSpec(...))` returns the bytes of a phone-like JPEG: a textured doorstep
scene (wall, door, floor), a shipping label (white paper with text-like marks and the order's
barcode) covering a chosen share of the frame, and EXIF as the courier app writes it
(ImageUniqueID = session nonce, DateTimeOriginal + OffsetTimeOriginal, GPS, Make/Model,
Orientation). Every knob that makes a photo "bad" is a field of `PhotoSpec`, so each retake
reason of `photo_pipeline.verify` can be produced on purpose. Output is deterministic for a
given spec. EXIF is built with piexif (the `devstack` extra): allowed here because we build it;
untrusted EXIF is only ever parsed with Pillow.

`sign_photo` and `make_device_key` mimic the app's Ed25519 device signature.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt
import piexif
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image, ImageFilter

from photo_pipeline import Expectations

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_CAPTURED_AT",
    "DEFAULT_LABEL_CODE",
    "DEFAULT_NONCE",
    "BarcodeKind",
    "PhotoSpec",
    "Scene",
    "default_expectations",
    "exif_bytes",
    "make_device_key",
    "make_photo",
    "offset_point",
    "paste_label",
    "sign_photo",
    "true_label_share",
]

BarcodeKind = Literal["code128", "qr", "datamatrix"]
# Where the label sits: the default textured doorstep, or the light surroundings that made an
# absolute-whiteness sheet finder merge the sheet with them (see `_background`).
Scene = Literal["doorstep", "light_wall", "white_wall", "white_door", "light_parcel"]

DEFAULT_NONCE = "c0ffee00-5e55-4000-8000-000000000001"
DEFAULT_LABEL_CODE = "DD2026000123RU"
DEFAULT_CAPTURED_AT = datetime(2026, 11, 20, 9, 30, 0, tzinfo=UTC)
# A Moscow doorstep (lat, lon).
DEFAULT_ADDRESS = (55.751244, 37.618423)


def default_expectations() -> Expectations:
    """What the server expects of a photo made with the defaults: its session, label and address."""
    return Expectations(
        nonce=DEFAULT_NONCE,
        label_code=DEFAULT_LABEL_CODE,
        session_opened_at=DEFAULT_CAPTURED_AT - timedelta(minutes=10),
        session_expires_at=DEFAULT_CAPTURED_AT + timedelta(minutes=20),
        now=DEFAULT_CAPTURED_AT + timedelta(minutes=1),
        address_lat=DEFAULT_ADDRESS[0],
        address_lon=DEFAULT_ADDRESS[1],
    )


_MSK = timedelta(hours=3)
_ORIENT_STORE = {
    # How to store an upright scene so that applying EXIF orientation N shows it upright again
    # (the inverse of the transform `ImageOps.exif_transpose` applies).
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True, kw_only=True)
class PhotoSpec:
    """Every knob of a synthetic delivery photo; the defaults make a photo that passes all checks."""

    seed: int = 0
    width: int = 4000
    height: int = 3000
    quality: int = 90

    # The label: white paper with marks and a barcode, `label_share` of the frame area.
    include_label: bool = True
    label_text: str = DEFAULT_LABEL_CODE
    barcode: BarcodeKind = "code128"
    label_share: float = 0.04
    angle: float = 2.0
    label_center: tuple[float, float] | None = None  # (x, y) as fractions of the frame; seeded if None
    # Label paper luminance and tint: 242 neutral is bright white paper; recycled or thermal
    # paper is light grey (~200-220) or off-white (a warm tint such as (1.0, 0.97, 0.88)).
    paper_level: int = 242
    paper_tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    scene: Scene = "doorstep"

    # The phone's auto-exposure: scale the frame so that its mean luminance is this (0-255).
    # A light wall or door pulls the whole frame down, and white paper becomes light grey.
    exposure_mean: float | None = None

    # Photographic defects.
    blur_radius: float = 0.0  # Gaussian blur over the whole frame, in full-resolution pixels
    brightness: float = 1.0  # multiplies every pixel: <0.3 is dark, >2 blows the frame out

    # EXIF as the courier app writes it.
    include_exif: bool = True
    nonce: str | None = DEFAULT_NONCE
    captured_at: datetime = DEFAULT_CAPTURED_AT
    utc_offset: timedelta | None = _MSK  # None: no OffsetTimeOriginal
    modify_date: datetime | None = None  # 0th DateTime; None means the capture time
    include_gps: bool = True
    lat: float = DEFAULT_ADDRESS[0]
    lon: float = DEFAULT_ADDRESS[1]
    make: str = "Google"
    model: str = "Pixel 8"
    software: str | None = "HDR+ 1.0.641377693zd"
    orientation: int = 1

    # Traces of editing.
    adobe_app14: bool = False  # insert an Adobe APP14 segment as Photoshop-family encoders do
    duplicate_exif: bool = False  # a second EXIF APP1 segment
    xmp_segments: tuple[
        bytes, ...
    ] = ()  # whole APP1 payloads (`xmp_packet`, `xmp_extension_chunk`), in order
    resave_scale: float | None = None  # re-encode after resizing by this factor, EXIF kept as is
    trailing: bytes = b""  # bytes appended after the EOI marker


def make_photo(spec: PhotoSpec) -> bytes:
    """Render, encode and tag a delivery photo as described by `spec`."""
    rgb = _render_upright(spec)
    if spec.exposure_mean is not None:
        rgb = _auto_expose(rgb, spec.exposure_mean)
    img = Image.fromarray(rgb)
    if spec.blur_radius > 0:
        img = img.filter(ImageFilter.GaussianBlur(spec.blur_radius))
    if spec.brightness != 1.0:
        lut = [min(255, round(i * spec.brightness)) for i in range(256)]
        img = img.point(lut * 3)
    if spec.orientation in _ORIENT_STORE:
        img = img.transpose(_ORIENT_STORE[spec.orientation])
    stored_w, stored_h = img.size

    exif = exif_bytes(spec, stored_w, stored_h) if spec.include_exif else None
    buf = io.BytesIO()
    if exif is None:
        img.save(buf, "JPEG", quality=spec.quality)
    else:
        img.save(buf, "JPEG", quality=spec.quality, exif=exif)
    data = buf.getvalue()

    if spec.resave_scale is not None:
        # An editor that resizes and re-encodes but carries the original EXIF over.
        again: Image.Image = Image.open(io.BytesIO(data))
        new_size = (round(stored_w * spec.resave_scale), round(stored_h * spec.resave_scale))
        again = again.resize(new_size, Image.Resampling.BILINEAR)
        buf = io.BytesIO()
        if exif is None:
            again.save(buf, "JPEG", quality=spec.quality)
        else:
            again.save(buf, "JPEG", quality=spec.quality, exif=exif)
        data = buf.getvalue()
    if spec.adobe_app14:
        data = _insert_after_soi(data, _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01"))
    if spec.duplicate_exif and exif is not None:
        data = _insert_after_soi(data, _segment(0xE1, exif))
    for payload in reversed(spec.xmp_segments):
        data = _insert_after_soi(data, _segment(0xE1, payload))
    return data + spec.trailing


def sign_photo(data: bytes, private_key: Ed25519PrivateKey) -> str:
    """Base64 Ed25519 signature over the 32-byte SHA-256 digest of the photo, as the app signs."""
    return base64.b64encode(private_key.sign(hashlib.sha256(data).digest())).decode("ascii")


def make_device_key(seed: int | None = None) -> tuple[Ed25519PrivateKey, str]:
    """A test device key pair: the private key and the base64 of the 32 raw public key bytes."""
    if seed is None:
        key = Ed25519PrivateKey.generate()
    else:
        key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"device-%d" % seed).digest())
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return key, base64.b64encode(raw).decode("ascii")


def offset_point(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point `north_m` metres north and `east_m` metres east of (lat, lon); good for ~km."""
    dlat = north_m / 111_320.0
    dlon = east_m / (111_320.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


# --- scene -------------------------------------------------------------------------------------

U8Array = npt.NDArray[np.uint8]


def _render_upright(spec: PhotoSpec) -> U8Array:
    rgb = _background(spec.seed, spec.width, spec.height, spec.scene).copy()
    if spec.include_label:
        paste_label(rgb, spec)
    return rgb


def _auto_expose(rgb: U8Array, mean: float) -> U8Array:
    """A global gain that brings the frame's mean luminance (BT.601) to `mean`, clipped at 255.

    Sensor noise (sigma ~2.5 levels after the phone's denoising) is added first, over the label
    too: the paper is then no smoother than a wall of the same brightness.
    """
    h, w = rgb.shape[:2]
    patch = np.random.default_rng(h * 7 + w).normal(0.0, 2.5, (257, 263, 1)).astype(np.float32)
    noise = np.tile(patch, (h // 257 + 1, w // 263 + 1, 1))[:h, :w]
    noisy = np.clip(rgb.astype(np.float32) + noise, 0, 255)
    luma = noisy[..., 0] * 0.299 + noisy[..., 1] * 0.587 + noisy[..., 2] * 0.114
    gain = mean / max(1.0, float(luma.mean(dtype=np.float64)))
    exposed: U8Array = np.clip(noisy * gain + 0.5, 0, 255).astype(np.uint8)
    return exposed


# Wall and door colours per scene: the light ones are as bright as (or brighter than) grey paper.
_WALLS: dict[str, tuple[float, float, float]] = {
    "doorstep": (150.0, 140.0, 125.0),
    "light_wall": (200.0, 195.0, 185.0),
    "white_wall": (232.0, 232.0, 228.0),
    "white_door": (150.0, 140.0, 125.0),
    "light_parcel": (150.0, 140.0, 125.0),
}
_DOORS: dict[str, tuple[float, float, float]] = {
    "doorstep": (110.0, 72.0, 45.0),
    "light_wall": (110.0, 72.0, 45.0),
    "white_wall": (205.0, 205.0, 200.0),
    "white_door": (225.0, 225.0, 220.0),
    "light_parcel": (110.0, 72.0, 45.0),
}


@functools.lru_cache(maxsize=4)
def _background(seed: int, width: int, height: int, scene: Scene = "doorstep") -> U8Array:
    """Wall, door and floor with gradients, grain and edges; cached because it is the slow part."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    # Plastered wall with a light falloff across the frame (the light ones fall off less).
    light = 0.85 + 0.25 * (1.0 - xx) - 0.15 * yy
    if scene != "doorstep":
        light = 0.97 + 0.06 * (1.0 - xx) - 0.08 * yy
    base = np.empty((h, w, 3), dtype=np.float32)
    base[:] = np.array(_WALLS[scene], dtype=np.float32)
    # Door: a slab with panels, offset by the seed.
    dx0 = int(w * (0.22 + 0.1 * rng.random()))
    dx1 = dx0 + int(w * 0.42)
    floor_y = int(h * (0.78 + 0.05 * rng.random()))
    base[:floor_y, dx0:dx1] = np.array(_DOORS[scene], dtype=np.float32)
    frame = max(4, w // 200)
    base[:floor_y, dx0 - frame : dx0] = 60.0
    base[:floor_y, dx1 : dx1 + frame] = 60.0
    for py0, py1 in ((0.08, 0.38), (0.45, 0.72)):
        y0, y1 = int(h * py0), int(h * py1)
        px0, px1 = dx0 + int(w * 0.05), dx1 - int(w * 0.05)
        base[y0:y1, px0:px1] *= 0.88
        base[y0 : y0 + frame, px0:px1] = 70.0
        base[y1 - frame : y1, px0:px1] = 150.0
    # Handle.
    hy, hx = int(h * 0.5), dx1 - int(w * 0.035)
    base[hy - h // 60 : hy + h // 60, hx - w // 150 : hx + w // 150] = np.array([200.0, 190.0, 120.0])
    # Tiled floor with grout lines.
    base[floor_y:] = np.array([95.0, 90.0, 85.0], dtype=np.float32)
    tile = max(8, w // 12)
    base[floor_y:, ::tile] = 40.0
    base[floor_y :: tile // 2, :] = 40.0
    base *= light[..., None]
    # Low-frequency blotches (upscaled coarse noise) and fine grain (a tiled noise patch: cheap,
    # and the tile period is far larger than anything the checks look at).
    coarse = rng.normal(0.0, 9.0, (h // 64 + 2, w // 64 + 2)).astype(np.float32)
    coarse_img = Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BILINEAR)
    base += np.asarray(coarse_img, dtype=np.float32)[..., None]
    patch = rng.normal(0.0, 5.0, (509, 521, 1)).astype(np.float32)
    reps = (h // 509 + 1, w // 521 + 1, 1)
    base += np.tile(patch, reps)[:h, :w]
    return np.clip(base, 0, 255).astype(np.uint8)


def _barcode_modules(text: str, kind: BarcodeKind) -> U8Array:
    fmt = {
        "code128": zxingcpp.BarcodeFormat.Code128,
        "qr": zxingcpp.BarcodeFormat.QRCode,
        "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    }[kind]
    code = zxingcpp.create_barcode(text, fmt)
    return np.asarray(code.to_image(scale=1, add_quiet_zones=True), dtype=np.uint8)


def _label_size(spec: PhotoSpec) -> tuple[int, int]:
    # A 100x150 mm shipping label, landscape in the frame.
    area = spec.label_share * spec.width * spec.height
    lw = round(math.sqrt(area * 1.5))
    lh = round(area / max(lw, 1))
    return lw, lh


def true_label_share(spec: PhotoSpec) -> float:
    """The share of the frame the rendered sheet really covers (the sheet is never cut by the edge)."""
    lw, lh = _label_size(spec)
    return lw * lh / float(spec.width * spec.height)


def _label_place(spec: PhotoSpec, rng: np.random.Generator, sw: int, sh: int) -> tuple[int, int]:
    """Top-left corner of the (rotated) sheet's bounding box: inside the frame, maybe touching it."""
    if spec.label_center is None:
        cx = 0.35 + 0.3 * float(rng.random())
        cy = 0.4 + 0.3 * float(rng.random())
    else:
        cx, cy = spec.label_center
    w, h = spec.width, spec.height
    x0 = int(np.clip(cx * w - sw / 2, 0, max(0, w - sw)))
    y0 = int(np.clip(cy * h - sh / 2, 0, max(0, h - sh)))
    return x0, y0


def _paint_parcel(rgb: U8Array, spec: PhotoSpec, x0: int, y0: int, sw: int, sh: int) -> None:
    """A light parcel under the label: a pale box face ~2x the sheet each way, with a shadow."""
    h, w = rgb.shape[:2]
    px0, px1 = max(0, x0 - sw // 2), min(w, x0 + sw + sw // 2)
    py0, py1 = max(0, y0 - sh // 2), min(h, y0 + sh + sh // 2)
    tone = np.array((222.0, 214.0, 198.0) if spec.seed % 2 else (228.0, 228.0, 224.0), dtype=np.float32)
    face = rgb[py0:py1, px0:px1].astype(np.float32)
    # Keep the scene's grain and falloff on the box face, re-centred on the parcel's colour.
    face = face - face.mean(axis=(0, 1)) + tone
    rgb[py0:py1, px0:px1] = np.clip(face, 0, 255).astype(np.uint8)
    edge = max(2, (py1 - py0) // 40)
    rgb[min(h, py1) - edge : py1, px0:px1] = (rgb[min(h, py1) - edge : py1, px0:px1] * 0.6).astype(np.uint8)


def paste_label(rgb: U8Array, spec: PhotoSpec) -> None:
    """Draw the spec's label sheet (its code, tilt, paper and print) into `rgb` in place."""
    rng = np.random.default_rng(spec.seed * 7919 + 17)
    h, w = rgb.shape[:2]
    lw, lh = _label_size(spec)
    paper = np.full((lh, lw), spec.paper_level, dtype=np.uint8)
    # Text-like marks: rows of short dark dashes in the upper part.
    row_h = max(2, lh // 28)
    for r in range(3, 11):
        y0 = int(r * lh / 28)
        x = int(lw * 0.06)
        while x < lw * 0.9:
            word = int(rng.integers(3, 9)) * max(2, lw // 120)
            paper[y0 : y0 + row_h, x : min(x + word, int(lw * 0.94))] = 40
            x += word + max(2, lw // 60)
    # The barcode fills the lower part, scaled to the label width.
    modules = _barcode_modules(spec.label_text, spec.barcode)
    mh, mw = modules.shape
    if spec.barcode == "code128":
        tw = int(lw * 0.88)
        th = int(lh * 0.4)
    else:
        tw = th = int(min(lw * 0.5, lh * 0.55))
        if mh != mw:
            th = int(tw * mh / mw)
    code_img = Image.fromarray(modules).resize((tw, max(1, th)), Image.Resampling.BOX)
    cx0 = (lw - tw) // 2
    cy0 = int(lh * 0.45)
    # Printed on the paper: the code's spaces and quiet zones are the paper itself.
    code_px = np.asarray(code_img, dtype=np.float32) * (spec.paper_level / 255.0)
    paper[cy0 : cy0 + code_img.height, cx0 : cx0 + tw] = np.round(code_px).astype(np.uint8)
    # Soft shading across the sheet, like a real sheet of paper under a ceiling light.
    shade = np.linspace(1.0, 0.93, lw, dtype=np.float32)[None, :]
    tint = np.array(spec.paper_tint, dtype=np.float32)
    paper_rgb = np.clip((paper.astype(np.float32) * shade)[..., None] * tint, 0, 255).astype(np.uint8)

    sheet = Image.fromarray(paper_rgb)
    mask = Image.new("L", sheet.size, 255)
    if spec.angle:
        sheet = sheet.rotate(spec.angle, resample=Image.Resampling.BILINEAR, expand=True)
        mask = mask.rotate(spec.angle, resample=Image.Resampling.BILINEAR, expand=True)
    sw, sh = sheet.size
    x0, y0 = _label_place(spec, rng, sw, sh)
    if spec.scene == "light_parcel":
        _paint_parcel(rgb, spec, x0, y0, sw, sh)
    sw, sh = min(sw, w - x0), min(sh, h - y0)
    region = Image.fromarray(rgb[y0 : y0 + sh, x0 : x0 + sw])
    region.paste(sheet.crop((0, 0, sw, sh)), (0, 0), mask.crop((0, 0, sw, sh)))
    rgb[y0 : y0 + sh, x0 : x0 + sw] = np.asarray(region)


# --- EXIF and markers --------------------------------------------------------------------------


def exif_bytes(spec: PhotoSpec, width: int, height: int) -> bytes:
    """The EXIF the courier app writes (nonce, capture time, GPS, device), built with piexif."""
    offset = spec.utc_offset
    local = spec.captured_at.astimezone(UTC) + (offset or timedelta(0))
    stamp = local.strftime("%Y:%m:%d %H:%M:%S").encode()
    modified = stamp
    if spec.modify_date is not None:
        modified = (
            (spec.modify_date.astimezone(UTC) + (offset or timedelta(0)))
            .strftime("%Y:%m:%d %H:%M:%S")
            .encode()
        )
    zeroth: dict[int, object] = {
        piexif.ImageIFD.Make: spec.make.encode(),
        piexif.ImageIFD.Model: spec.model.encode(),
        piexif.ImageIFD.Orientation: spec.orientation,
        piexif.ImageIFD.DateTime: modified,
    }
    if spec.software is not None:
        zeroth[piexif.ImageIFD.Software] = spec.software.encode()
    exif_ifd: dict[int, object] = {
        piexif.ExifIFD.DateTimeOriginal: stamp,
        piexif.ExifIFD.DateTimeDigitized: stamp,
        piexif.ExifIFD.PixelXDimension: width,
        piexif.ExifIFD.PixelYDimension: height,
    }
    if offset is not None:
        exif_ifd[piexif.ExifIFD.OffsetTimeOriginal] = _format_offset(offset).encode()
    if spec.nonce is not None:
        exif_ifd[piexif.ExifIFD.ImageUniqueID] = spec.nonce.encode()
    gps: dict[int, object] = {}
    if spec.include_gps:
        gps = {
            piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
            piexif.GPSIFD.GPSLatitudeRef: b"N" if spec.lat >= 0 else b"S",
            piexif.GPSIFD.GPSLatitude: _dms(abs(spec.lat)),
            piexif.GPSIFD.GPSLongitudeRef: b"E" if spec.lon >= 0 else b"W",
            piexif.GPSIFD.GPSLongitude: _dms(abs(spec.lon)),
        }
    return bytes(piexif.dump({"0th": zeroth, "Exif": exif_ifd, "GPS": gps, "1st": {}, "thumbnail": None}))


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    deg = int(value)
    minutes_f = (value - deg) * 60
    minutes = int(minutes_f)
    seconds = Fraction((minutes_f - minutes) * 60).limit_denominator(10_000)
    return ((deg, 1), (minutes, 1), (seconds.numerator, seconds.denominator))


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _insert_after_soi(data: bytes, segment: bytes) -> bytes:
    return data[:2] + segment + data[2:]
