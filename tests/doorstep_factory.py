"""Synthetic doorsteps photographed on different days, for the door-identity checks.

A `Doorstep` is a place: a building (door model, wall paint, floor tiles, lighting) and one
apartment door in it (where the door stands in the courier's usual framing, its number plate,
its mat, the marks on its wall, its own piece of plaster). `shoot(doorstep, Shot(...))` returns
the JPEG of one delivery there: a parcel of another size in another place with the order's
label on it, the phone held a little differently (+-5% shift and zoom, +-3 degrees roll), another
light level, the phone's auto-exposure, fresh sensor noise, EXIF as the app writes it.

Doors of one building share everything but what tells apartments apart in real corridors: the
number, the mat, the scuffs and stickers, the plaster's own blotches. That is the hard case for
the fingerprint (a neighbour's door offered as proof); doors of other buildings are easier.

The label is drawn with `tests.photo_factory` (same sheet, same codes) and the EXIF with its
writer, so `photo_pipeline.verify` reads these photos like the other synthetic ones.
`evade(data, kind, seed)` applies the edits a cheating courier would try on an old photo.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import piexif
from PIL import Image, ImageDraw, ImageFont

# The factory's own EXIF writer and label sheet, reused so that these photos read like the others.
from infra.devstack.doorstep_photo import (
    DEFAULT_LABEL_CODE,
    BarcodeKind,
    PhotoSpec,
    exif_bytes,
    paste_label,
)

__all__ = ["EVASIONS", "Doorstep", "Evasion", "Shot", "building_doors", "evade", "random_shot", "shoot"]

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]

Evasion = Literal["orientation_tag", "crop_10", "requality_70", "rotate_3", "brightness_30"]
EVASIONS: tuple[Evasion, ...] = ("orientation_tag", "crop_10", "requality_70", "rotate_3", "brightness_30")

# The scene is drawn this much larger than the frame, so the phone can move within it.
_MARGIN = 1.3


@dataclass(frozen=True, kw_only=True)
class Doorstep:
    """One apartment door of one building, photographed at `width` x `height`."""

    building: int
    door: int
    width: int = 2000
    height: int = 1500


@dataclass(frozen=True, kw_only=True)
class Shot:
    """What changes between two deliveries to the same door."""

    seed: int = 0
    shift: tuple[float, float] = (0.0, 0.0)  # camera shift, as fractions of the frame
    zoom: float = 1.0
    roll: float = 0.0  # degrees
    light: float = 1.0  # the corridor's light level before auto-exposure
    exposure_mean: float = 118.0
    parcel_center: tuple[float, float] = (0.5, 0.72)  # fractions of the frame, before the camera moves
    parcel_scale: float = 2.0  # the parcel face, in label sheets each way
    label_share: float = 0.06
    label_angle: float = 2.0
    barcode: BarcodeKind = "code128"
    label_text: str = DEFAULT_LABEL_CODE
    quality: int = 90
    orientation: int = 1


def building_doors(building: int, doors: int, *, width: int = 2000, height: int = 1500) -> list[Doorstep]:
    """`doors` apartments of one building."""
    return [Doorstep(building=building, door=d, width=width, height=height) for d in range(doors)]


def random_shot(rng: np.random.Generator, *, label_text: str = DEFAULT_LABEL_CODE) -> Shot:
    """Another delivery: the phone, the light, the parcel and the label all drawn afresh."""
    return Shot(
        seed=int(rng.integers(1 << 30)),
        shift=(float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.05, 0.05))),
        zoom=float(rng.uniform(0.95, 1.05)),
        roll=float(rng.uniform(-3.0, 3.0)),
        light=float(rng.uniform(0.6, 1.4)),
        exposure_mean=float(rng.uniform(95.0, 140.0)),
        parcel_center=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.62, 0.8))),
        parcel_scale=float(rng.uniform(1.4, 2.2)),
        label_share=float(rng.uniform(0.045, 0.08)),
        label_angle=float(rng.uniform(-8.0, 8.0)),
        barcode=("code128", "qr", "datamatrix")[int(rng.integers(3))],
        label_text=label_text,
    )


def shoot(doorstep: Doorstep, shot: Shot) -> bytes:
    """The JPEG of one delivery to `doorstep`."""
    w, h = doorstep.width, doorstep.height
    canvas = _scene(doorstep).copy()
    _paint_parcel_and_label(canvas, doorstep, shot)
    frame = _camera(canvas, w, h, shot)
    rgb = _expose(frame, shot)
    img = Image.fromarray(rgb)
    store = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    if shot.orientation in store:
        img = img.transpose(store[shot.orientation])
    spec = PhotoSpec(width=w, height=h, orientation=shot.orientation)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=shot.quality, exif=exif_bytes(spec, img.width, img.height))
    return buf.getvalue()


def evade(data: bytes, kind: Evasion, seed: int) -> bytes:
    """`data` edited the way a courier would disguise an old photo; the EXIF is carried over."""
    rng = np.random.default_rng(seed)
    exif = piexif.load(data)
    if kind == "orientation_tag":
        exif["0th"][piexif.ImageIFD.Orientation] = int(rng.choice([2, 3, 6, 8]))
        out = io.BytesIO()
        piexif.insert(piexif.dump(exif), data, out)
        return out.getvalue()
    img = Image.open(io.BytesIO(data)).convert("RGB")
    quality = 90
    w, h = img.size
    if kind == "crop_10":
        left, top = float(rng.uniform(0.0, 0.1)), float(rng.uniform(0.0, 0.1))
        img = img.crop((round(left * w), round(top * h), round((left + 0.9) * w), round((top + 0.9) * h)))
    elif kind == "requality_70":
        quality = 70
    elif kind == "rotate_3":
        angle = float(rng.choice([-3.0, 3.0]))
        # Rotated, then cut to the largest upright rectangle without the black corners.
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC)
        a = math.radians(abs(angle))
        cut_w = round((h * math.sin(a)) / 2) + 2
        cut_h = round((w * math.sin(a)) / 2) + 2
        img = img.crop((cut_w, cut_h, w - cut_w, h - cut_h))
    elif kind == "brightness_30":
        gain = float(rng.choice([0.7, 1.3]))
        img = img.point([min(255, round(i * gain)) for i in range(256)] * 3)
    exif["Exif"][piexif.ExifIFD.PixelXDimension] = img.width
    exif["Exif"][piexif.ExifIFD.PixelYDimension] = img.height
    exif.pop("thumbnail", None)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, exif=piexif.dump(exif))
    return out.getvalue()


# --- the place ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _scene(doorstep: Doorstep) -> U8:
    """The doorstep without a parcel, `_MARGIN` times the frame: cached, it is the slow part."""
    cw, ch = round(doorstep.width * _MARGIN), round(doorstep.height * _MARGIN)
    model = np.random.default_rng(doorstep.building * 1_000_003 + 11)  # the building
    place = np.random.default_rng(doorstep.building * 1_000_003 + 101 + doorstep.door)  # the apartment
    wall = model.uniform(110.0, 200.0, 3).astype(np.float32)
    door_rgb = model.uniform(40.0, 170.0, 3).astype(np.float32)
    floor_rgb = model.uniform(60.0, 130.0, 3).astype(np.float32)
    door_w = float(model.uniform(0.3, 0.38))
    panels = int(model.integers(1, 4))
    tile = int(doorstep.width * float(model.uniform(0.06, 0.1)))
    handle_side = int(model.integers(2))

    yy = np.linspace(0.0, 1.0, ch, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, cw, dtype=np.float32)[None, :]
    lamp = float(place.uniform(0.0, 1.0))
    light = 0.8 + 0.3 * np.exp(-(((xx - lamp) / 0.6) ** 2)) - 0.12 * yy
    base = np.empty((ch, cw, 3), dtype=np.float32)
    base[:] = wall
    # The door: the courier frames each door a little differently.
    dx0 = int(cw * float(place.uniform(0.27, 0.4)))
    dx1 = dx0 + int(cw * door_w * 0.8)
    top = int(ch * float(place.uniform(0.05, 0.1)))
    floor_y = int(ch * float(place.uniform(0.7, 0.76)))
    frame = max(4, cw // 150)
    base[top:floor_y, dx0:dx1] = door_rgb
    base[top - frame : floor_y, dx0 - frame : dx0] = door_rgb * 0.5
    base[top - frame : floor_y, dx1 : dx1 + frame] = door_rgb * 0.5
    base[top - frame : top, dx0 - frame : dx1 + frame] = door_rgb * 0.5
    door_h = floor_y - top
    for p in range(panels):
        y0 = top + int(door_h * (0.06 + p * 0.9 / panels))
        y1 = top + int(door_h * (0.06 + (p + 1) * 0.9 / panels - 0.05))
        px0, px1 = dx0 + (dx1 - dx0) // 8, dx1 - (dx1 - dx0) // 8
        base[y0:y1, px0:px1] *= 0.85
        base[y0 : y0 + frame // 2, px0:px1] *= 0.6
        base[y1 - frame // 2 : y1, px0:px1] *= 1.3
    hx = dx1 - (dx1 - dx0) // 10 if handle_side else dx0 + (dx1 - dx0) // 10
    hy = top + int(door_h * 0.52)
    base[hy - ch // 80 : hy + ch // 80, hx - cw // 160 : hx + cw // 160] = (200.0, 190.0, 120.0)
    base[floor_y:] = floor_rgb
    base[floor_y:, ::tile] *= 0.5
    base[floor_y :: tile // 2, :] *= 0.5
    _wall_marks(base, place, dx0 - frame, dx1 + frame, floor_y)
    _mat(base, place, dx0, dx1, floor_y)
    base *= light[..., None]
    # This apartment's own piece of plaster and floor: blotches and grain.
    coarse = place.normal(0.0, 7.0, (ch // 48 + 2, cw // 48 + 2)).astype(np.float32)
    base += np.asarray(Image.fromarray(coarse, mode="F").resize((cw, ch), Image.Resampling.BILINEAR))[
        ..., None
    ]
    patch = place.normal(0.0, 4.0, (509, 521, 1)).astype(np.float32)
    base += np.tile(patch, (ch // 509 + 1, cw // 521 + 1, 1))[:ch, :cw]
    rgb = np.clip(base, 0, 255).astype(np.uint8)
    _number_plate(rgb, place, model, dx0, dx1, top, door_h)
    return rgb


def _wall_marks(base: F32, rng: np.random.Generator, door_x0: int, door_x1: int, floor_y: int) -> None:
    """Scuffs, spots, a doorbell, a sticker: 4-8 marks on the wall beside this door."""
    cw = base.shape[1]
    for _ in range(int(rng.integers(4, 9))):
        for _try in range(20):
            x = int(rng.uniform(0.02, 0.98) * cw)
            y = int(rng.uniform(0.05, 0.95) * floor_y)
            if not door_x0 - cw // 30 <= x <= door_x1 + cw // 30:
                break
        kind = int(rng.integers(4))
        tone = float(rng.uniform(0.35, 0.7))
        if kind == 0:  # a scuff: a short dark stroke
            length, angle = rng.uniform(0.02, 0.06) * cw, rng.uniform(0, math.pi)
            thick = max(2, cw // 400)
            for t in np.linspace(0.0, 1.0, 40):
                px, py = int(x + t * length * math.cos(angle)), int(y + t * length * math.sin(angle))
                base[max(0, py - thick) : py + thick, max(0, px - thick) : px + thick] *= tone ** (1 / 8)
        elif kind == 1:  # a spot
            r = max(3, int(rng.uniform(0.004, 0.01) * cw))
            base[max(0, y - r) : y + r, max(0, x - r) : x + r] *= tone
        elif kind == 2:  # a doorbell or switch: a light plate with a dark button
            s = max(6, int(rng.uniform(0.012, 0.022) * cw))
            base[max(0, y - s) : y + s, max(0, x - s) : x + s] = 215.0
            base[max(0, y - s // 3) : y + s // 3, max(0, x - s // 3) : x + s // 3] = 50.0
        else:  # a sticker
            sw, sh = int(rng.uniform(0.015, 0.035) * cw), int(rng.uniform(0.01, 0.025) * cw)
            base[max(0, y - sh) : y + sh, max(0, x - sw) : x + sw] = rng.uniform(40.0, 230.0, 3)


def _mat(base: F32, rng: np.random.Generator, dx0: int, dx1: int, floor_y: int) -> None:
    """This apartment's doormat: its own colour, border and stripes."""
    ch = base.shape[0]
    width = dx1 - dx0
    x0 = dx0 + int(width * rng.uniform(-0.1, 0.15))
    x1 = x0 + int(width * rng.uniform(0.6, 0.95))
    y0 = floor_y + int(ch * rng.uniform(0.015, 0.04))
    y1 = y0 + int(ch * rng.uniform(0.06, 0.12))
    colour = rng.uniform(30.0, 200.0, 3).astype(np.float32)
    base[y0:y1, x0:x1] = colour
    border = max(3, int((y1 - y0) * rng.uniform(0.05, 0.15)))
    base[y0 : y0 + border, x0:x1] = colour * 0.5
    base[y1 - border : y1, x0:x1] = colour * 0.5
    stripes = int(rng.integers(0, 7))
    for s in range(stripes):
        sx = x0 + int((s + 1) * (x1 - x0) / (stripes + 1))
        base[y0 + border : y1 - border, sx - border // 2 : sx + border // 2 + 1] = rng.uniform(30.0, 230.0, 3)


def _number_plate(
    rgb: U8, place: np.random.Generator, model: np.random.Generator, dx0: int, dx1: int, top: int, door_h: int
) -> None:
    """The apartment number on the building's plate, at the building's place on the door."""
    ch, cw = rgb.shape[:2]
    number = str(int(place.integers(1, 300)))
    pw, ph = int(cw * 0.06), int(ch * 0.05)
    cx = (dx0 + dx1) // 2
    cy = top + int(door_h * 0.08)
    plate_rgb = tuple(int(v) for v in model.uniform(150.0, 230.0, 3))
    img = Image.fromarray(rgb[cy - ph // 2 : cy + ph // 2, cx - pw // 2 : cx + pw // 2])
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, img.width - 1, img.height - 1), fill=plate_rgb, outline=(30, 30, 30), width=2)
    font = ImageFont.load_default(size=int(ph * 0.7))
    draw.text((img.width // 2, img.height // 2), number, fill=(20, 20, 20), font=font, anchor="mm")
    rgb[cy - ph // 2 : cy + ph // 2, cx - pw // 2 : cx + pw // 2] = np.asarray(img)


# --- one delivery ------------------------------------------------------------------------------


def _paint_parcel_and_label(canvas: U8, doorstep: Doorstep, shot: Shot) -> None:
    """A cardboard parcel on the floor, the order's label on its face (in scene coordinates)."""
    ch, cw = canvas.shape[:2]
    rng = np.random.default_rng(shot.seed)
    # The frame's area in scene pixels is width x height at zoom 1: the label share is of the frame.
    area = shot.label_share * doorstep.width * doorstep.height
    lw, lh = math.sqrt(area * 1.5), math.sqrt(area / 1.5)
    pw, ph = int(lw * shot.parcel_scale), int(lh * shot.parcel_scale)
    ox, oy = (cw - doorstep.width) / 2, (ch - doorstep.height) / 2
    cx = int(ox + shot.parcel_center[0] * doorstep.width)
    cy = int(oy + shot.parcel_center[1] * doorstep.height)
    x0, y0 = max(0, cx - pw // 2), max(0, cy - ph // 2)
    x1, y1 = min(cw, cx + pw // 2), min(ch, cy + ph // 2)
    tone = rng.uniform(150.0, 215.0) * np.array((1.0, 0.85, 0.62))
    grain = rng.normal(0.0, 3.0, (y1 - y0, x1 - x0, 1)).astype(np.float32)
    canvas[y0:y1, x0:x1] = np.clip(tone + grain, 0, 255).astype(np.uint8)
    side = max(4, ph // 6)  # the parcel's top, lit from above, and its shadow on the floor
    canvas[max(0, y0 - side) : y0, x0:x1] = np.clip(tone * 1.1, 0, 255).astype(np.uint8)
    canvas[y1 : min(ch, y1 + side // 2), x0:x1] //= 2
    tape = max(3, pw // 25)
    canvas[y0:y1, cx - tape : cx + tape] = np.clip(tone * 0.8, 0, 255).astype(np.uint8)
    # The label on the face, away from the tape's middle: `paste_label` sizes the sheet by the
    # spec's frame, which here is the whole scene.
    share = shot.label_share * doorstep.width * doorstep.height / (cw * ch)
    lx = (cx + float(rng.uniform(-0.15, 0.15)) * pw) / cw
    ly = (cy + float(rng.uniform(-0.1, 0.1)) * ph) / ch
    spec = PhotoSpec(
        seed=int(rng.integers(2)),
        width=cw,
        height=ch,
        label_text=shot.label_text,
        barcode=shot.barcode,
        label_share=share,
        angle=shot.label_angle,
        label_center=(lx, ly),
        paper_level=int(rng.integers(215, 246)),
    )
    paste_label(canvas, spec)


def _camera(canvas: U8, width: int, height: int, shot: Shot) -> U8:
    """What the phone sees: the scene's middle, shifted, zoomed and rolled."""
    ch, cw = canvas.shape[:2]
    a = math.radians(shot.roll)
    s = 1.0 / shot.zoom
    cos, sin = math.cos(a) * s, math.sin(a) * s
    # Frame pixel (u, v) -> scene pixel, about the frame's centre.
    cx = cw / 2 + shot.shift[0] * width
    cy = ch / 2 + shot.shift[1] * height
    u0, v0 = width / 2, height / 2
    coeffs = (cos, -sin, cx - cos * u0 + sin * v0, sin, cos, cy - sin * u0 - cos * v0)
    img = Image.fromarray(canvas).transform(
        (width, height), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR
    )
    return np.asarray(img)


def _expose(frame: U8, shot: Shot) -> U8:
    """The corridor's light, fresh sensor noise, then the phone's auto-exposure."""
    rng = np.random.default_rng(shot.seed + 1)
    h, w = frame.shape[:2]
    patch = rng.normal(0.0, 2.5, (257, 263, 1)).astype(np.float32)
    oy, ox = int(rng.integers(257)), int(rng.integers(263))
    noise = np.tile(patch, (h // 257 + 2, w // 263 + 2, 1))[oy : oy + h, ox : ox + w]
    lit = frame.astype(np.float32) * shot.light + noise
    luma = lit[..., 0] * 0.299 + lit[..., 1] * 0.587 + lit[..., 2] * 0.114
    gain = shot.exposure_mean / max(1.0, float(luma.mean(dtype=np.float64)))
    out: U8 = np.clip(lit * gain + 0.5, 0, 255).astype(np.uint8)
    return out


def with_orientation(shot: Shot, orientation: int) -> Shot:
    """The same shot, stored rotated with this EXIF orientation (how some phones save portrait)."""
    return replace(shot, orientation=orientation)
