"""What the server expects of a delivery photo, and the limits it is checked against."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["Expectations", "PhotoLimits"]


class Expectations(msgspec.Struct, frozen=True, kw_only=True):
    """Facts of the delivery session the photo must prove; all datetimes timezone-aware."""

    nonce: str
    label_code: str
    session_opened_at: datetime
    session_expires_at: datetime
    now: datetime
    address_lat: float
    address_lon: float


class PhotoLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Resource limits and check thresholds.

    - label_min_share: zxing needs ~1.8 px per Code128 module; on a 12 MP frame a label code is
      reliable from ~2.5% of the frame and unreliable below. 2% accepts a label that still
      decodes, and asks the courier to move closer when a smaller label is seen but unreadable.
    - label_max_share: above 15% the door and its surroundings are no longer identifiable.
    - blur_min: variance of the Laplacian of the luminance at 1/3-1/4 scale (about 1000 px
      wide). Sharp in-app photos of a doorstep measure 60-600; a 2 px camera shake blur
      (radius at full 12 MP resolution) already drops below 15.
    - exposure_dark_max / exposure_bright_min: median luminance (0-255) at or below which the
      photo is too dark, and at or above which it is blown out.
    """

    max_bytes: int = 15_000_000
    max_pixels: int = 50_000_000
    min_pixels: int = 500_000
    max_side: int = 10_000
    clock_skew_s: int = 120
    gps_radius_m: float = 150.0
    label_min_share: float = 0.02
    label_max_share: float = 0.15
    blur_min: float = 50.0
    exposure_dark_max: float = 40.0
    exposure_bright_min: float = 200.0
    customer_copy_max_side: int = 1600
