"""Wire views from repository records: msgspec copies (and checks) the fields that line up by name."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

View = TypeVar("View", bound=msgspec.Struct)


class _Overlay:
    """A record seen with a few attributes added or replaced: the view fields that do not line up."""

    __slots__ = ("_extra", "_record")

    def __init__(self, record: object, extra: dict[str, Any]) -> None:
        self._record = record
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not the two slots above.
        if name in self._extra:
            return self._extra[name]
        return getattr(self._record, name)


def view_of(view: type[View], record: object, **extra: Any) -> View:
    """`record` as the wire struct `view`; `extra` gives the fields whose name or value differ."""
    # A misspelt extra would be ignored silently by from_attributes; refuse it instead.
    unknown = set(extra) - set(view.__struct_fields__)
    if unknown:
        raise TypeError(f"{view.__name__} has no field(s) {sorted(unknown)}")
    source = _Overlay(record, extra) if extra else record
    return msgspec.convert(source, view, from_attributes=True)
