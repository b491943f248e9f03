"""Pure verification of courier delivery photos: bytes and expectations in, a verdict out.

No I/O, no clock (``now`` is an argument), nothing of the application's other packages.
The work is CPU-bound and releases the GIL; callers run `verify` in a thread pool.
"""

from photo_pipeline.doorstep import MATCH_MIN_INLIERS, DoorMatch, compare_doorsteps
from photo_pipeline.errors import INVALID_PHOTO_CODES, InvalidPhoto
from photo_pipeline.expectations import Expectations, PhotoLimits
from photo_pipeline.perceptual import DETAIL_DUPLICATE_MAX_BITS, hamming, hamming_bytes
from photo_pipeline.verdict import CHECK_CODES, CaptureMetadata, Check, Verdict
from photo_pipeline.verify import verify

__all__ = [
    "CHECK_CODES",
    "DETAIL_DUPLICATE_MAX_BITS",
    "INVALID_PHOTO_CODES",
    "MATCH_MIN_INLIERS",
    "CaptureMetadata",
    "Check",
    "DoorMatch",
    "Expectations",
    "InvalidPhoto",
    "PhotoLimits",
    "Verdict",
    "compare_doorsteps",
    "hamming",
    "hamming_bytes",
    "verify",
]
