"""EXIF facts read from untrusted bytes with Pillow only.

piexif must never see untrusted bytes (it treats unknown bytes as a file path). Pillow's
parser tolerates absurd counts and offsets; every value read here is type-checked, and
anything malformed is treated as missing, so a broken field fails its own check instead of
the whole upload.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

import msgspec
from PIL import ExifTags, Image

__all__ = ["ExifFacts", "read_exif"]

_ORIENTATION: Final = 0x0112
_MAKE: Final = 0x010F
_MODEL: Final = 0x0110
_SOFTWARE: Final = 0x0131
_MODIFY_DATE: Final = 0x0132
_DATE_TIME_ORIGINAL: Final = 0x9003
_OFFSET_TIME_ORIGINAL: Final = 0x9011
_IMAGE_UNIQUE_ID: Final = 0xA420
_PIXEL_X: Final = 0xA002
_PIXEL_Y: Final = 0xA003
_GPS_LAT_REF: Final = 1
_GPS_LAT: Final = 2
_GPS_LON_REF: Final = 3
_GPS_LON: Final = 4

_EXIF_DATETIME: Final = re.compile(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_OFFSET: Final = re.compile(r"([+-])(\d{2}):(\d{2})")
_MAX_TEXT: Final = 256


class ExifFacts(msgspec.Struct, frozen=True, kw_only=True):
    """The EXIF fields the checks use; None where missing or malformed."""

    readable: bool  # False when Pillow could not parse the EXIF block at all
    orientation: int  # 1..8, 1 when missing or invalid
    make: str | None
    model: str | None
    software: str | None
    image_unique_id: str | None
    local_time: datetime | None  # DateTimeOriginal, naive wall-clock time
    utc_offset: timedelta | None  # OffsetTimeOriginal
    modify_time: datetime | None  # 0th-IFD DateTime ("ModifyDate"), naive
    pixel_x: int | None
    pixel_y: int | None
    lat: float | None  # signed decimal degrees; None if absent, malformed or out of range
    lon: float | None

    @property
    def captured_at(self) -> datetime | None:
        """The capture instant in UTC, when both the wall-clock time and its offset are known."""
        if self.local_time is None or self.utc_offset is None:
            return None
        return self.local_time.replace(tzinfo=timezone(self.utc_offset)).astimezone(UTC)


NO_EXIF: Final = ExifFacts(
    readable=False,
    orientation=1,
    make=None,
    model=None,
    software=None,
    image_unique_id=None,
    local_time=None,
    utc_offset=None,
    modify_time=None,
    pixel_x=None,
    pixel_y=None,
    lat=None,
    lon=None,
)


def read_exif(image: Image.Image) -> ExifFacts:
    """Read the EXIF of an opened (not necessarily decoded) image; never raises."""
    try:
        exif = image.getexif()
        zeroth = {int(k): v for k, v in exif.items()}
        sub = _ifd(exif, ExifTags.IFD.Exif)
        gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    except Exception:  # Pillow raises many types (and warnings-as-errors) on broken EXIF
        return NO_EXIF
    orientation = zeroth.get(_ORIENTATION)
    lat, lon = _gps(gps)
    return ExifFacts(
        readable=True,
        orientation=orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1,
        make=_text(zeroth.get(_MAKE)),
        model=_text(zeroth.get(_MODEL)),
        software=_text(zeroth.get(_SOFTWARE)),
        image_unique_id=_text(sub.get(_IMAGE_UNIQUE_ID)),
        local_time=_datetime(sub.get(_DATE_TIME_ORIGINAL)),
        utc_offset=_offset(sub.get(_OFFSET_TIME_ORIGINAL)),
        modify_time=_datetime(zeroth.get(_MODIFY_DATE)),
        pixel_x=_positive_int(sub.get(_PIXEL_X)),
        pixel_y=_positive_int(sub.get(_PIXEL_Y)),
        lat=lat,
        lon=lon,
    )


def _ifd(exif: Image.Exif, tag: int) -> dict[int, object]:
    try:
        return {int(k): v for k, v in exif.get_ifd(tag).items()}
    except Exception:  # a broken sub-IFD only loses its own fields
        return {}


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:_MAX_TEXT] or None


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _datetime(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    match = _EXIF_DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - naive by nature
    except ValueError:
        return None


def _offset(value: object) -> timedelta | None:
    text = _text(value)
    if text is None:
        return None
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:
        return None
    return -delta if sign == "-" else delta


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]  # IFDRational, int, float
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _coordinate(dms: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    parts = [_number(part) for part in dms]
    if any(part is None for part in parts):
        return None
    deg, minutes, seconds = (part for part in parts if part is not None)
    if not (0 <= deg <= limit and 0 <= minutes < 60 and 0 <= seconds < 60):
        return None
    value = deg + minutes / 60 + seconds / 3600
    if value > limit:
        return None
    ref_text = _text(ref)
    if ref_text == negative:
        return -value
    if ref_text == positive:
        return value
    return None


def _gps(gps: dict[int, object]) -> tuple[float | None, float | None]:
    lat = _coordinate(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "N", "S", 90.0)
    lon = _coordinate(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "E", "W", 180.0)
    if lat is None or lon is None:
        return None, None
    return lat, lon
