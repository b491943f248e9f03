"""The scenarios of `courier-api simulate` and the check each one is made to fail (no image libraries here)."""

from __future__ import annotations

from typing import Literal, get_args

Scenario = Literal[
    "good",
    "gallery",
    "wrong-label",
    "label-too-small",
    "label-too-large",
    "far-away",
    "blurred",
    "dark",
    "late",
]
SCENARIOS: tuple[Scenario, ...] = get_args(Scenario)

# The failed check each scenario is made to produce ("good": none). `late` is a photo whose EXIF capture
# time lies after the session's window: the server refuses it with `provenance.capture_time` at once. The
# other lateness the protocol refuses, an upload after the session's expiry plus CAPTURE_UPLOAD_GRACE_S
# (409 capture_session.expired), would need the simulator to wait 13 hours.
EXPECTED_FAILURE: dict[Scenario, str | None] = {
    "good": None,
    "gallery": "provenance.nonce",
    "wrong-label": "label.matches_order",
    "label-too-small": "label.too_small",
    "label-too-large": "label.too_large",
    "far-away": "location.gps",
    "blurred": "quality.blur",
    "dark": "quality.exposure",
    "late": "provenance.capture_time",
}
