"""A tag-length-value walk over ASN.1, for structures read field by field rather than against a schema."""

from __future__ import annotations

from typing import Final, NamedTuple

from asn1crypto import parser as asn1_parser

__all__ = ["UNIVERSAL", "DerError", "Tlv", "children", "expect", "one"]

UNIVERSAL: Final = 0


class DerError(ValueError):
    """Bytes that are not the ASN.1 structure expected; the verifiers turn it into a `format` refusal."""


class Tlv(NamedTuple):
    cls: int
    constructed: bool
    tag: int
    contents: bytes


def one(data: bytes) -> Tlv:
    """The single value `data` encodes; trailing bytes are an error."""
    try:
        cls, method, tag, _header, contents, _trailer = asn1_parser.parse(data, strict=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DerError(f"bad ASN.1: {exc}") from exc
    return Tlv(cls, method == 1, tag, bytes(contents))


def children(data: bytes) -> list[Tlv]:
    """The values encoded one after another in `data` (a constructed value's contents)."""
    found: list[Tlv] = []
    offset = 0
    while offset < len(data):
        try:
            cls, method, tag, header, contents, trailer = asn1_parser.parse(data[offset:])
        except (ValueError, TypeError, OverflowError) as exc:
            raise DerError(f"bad ASN.1: {exc}") from exc
        found.append(Tlv(cls, method == 1, tag, bytes(contents)))
        offset += len(header) + len(contents) + len(trailer)
    return found


def expect(tlv: Tlv, tag: int, what: str) -> bytes:
    """The contents of a universal value with `tag`; DerError naming `what` otherwise."""
    if tlv.cls != UNIVERSAL or tlv.tag != tag:
        raise DerError(f"{what}: unexpected ASN.1 tag {tlv.cls}/{tlv.tag}")
    return tlv.contents
