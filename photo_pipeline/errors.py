"""Errors of the photo pipeline.

Error tree:

    InvalidPhoto            the body is not a complete, decodable JPEG within limits; nothing is stored.
        .code               stable machine code, one of INVALID_PHOTO_CODES
        .detail             human-readable reason (English, for logs and support)

A photo that decodes but fails a check is *not* an error: `verify` returns a `Verdict` whose
failed checks tell the courier what to retake.
"""

from __future__ import annotations

from typing import Final

__all__ = ["INVALID_PHOTO_CODES", "InvalidPhoto"]

INVALID_PHOTO_CODES: Final = frozenset(
    {
        "photo.empty",  # zero bytes
        "photo.too_many_bytes",  # body larger than PhotoLimits.max_bytes
        "photo.not_jpeg",  # not a JPEG at all (PNG, TIFF, GIF, garbage...)
        "photo.truncated",  # the JPEG stops before its end-of-image marker
        "photo.undecodable",  # JPEG structure or entropy data is corrupt, or an unsupported variant
        "photo.too_many_pixels",  # width*height above PhotoLimits.max_pixels (decompression bomb)
        "photo.too_large_dimensions",  # a side above PhotoLimits.max_side
        "photo.too_few_pixels",  # width*height below PhotoLimits.min_pixels: no camera photo is that small
        "photo.trailing_data",  # bytes after the end-of-image marker (polyglots, MPO extra frames)
        "photo.bad_exif",  # EXIF structure so broken it cannot be trusted (e.g. conflicting segments)
        "photo.bad_xmp",  # more XMP segments or bytes than a camera writes, or a broken Extended XMP chunk
    }
)


class InvalidPhoto(Exception):
    """The uploaded bytes are not an acceptable JPEG photo."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def __reduce__(self) -> tuple[type[InvalidPhoto], tuple[str, str]]:
        # verify() may run in a process pool: the error must cross the process boundary intact.
        return (InvalidPhoto, (self.code, self.detail))
