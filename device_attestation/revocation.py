"""Google's attestation certificate status list, as published (`{"entries": {serial_hex: {"status": ...}}}`)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

__all__ = ["RevocationList"]


class RevocationList(msgspec.Struct, frozen=True, kw_only=True):
    """Serial number -> status ("REVOKED" or "SUSPENDED"); both are refused."""

    entries: dict[int, str] = msgspec.field(default_factory=dict)

    @classmethod
    def from_status_json(cls, document: object) -> RevocationList:
        """Build from the parsed status JSON; ValueError names what is wrong (the caller stops the start)."""
        if not isinstance(document, Mapping):
            raise ValueError("the status list is not a JSON object")
        raw_entries = document.get("entries", {})
        if not isinstance(raw_entries, Mapping):
            raise ValueError('the status list\'s "entries" is not an object')
        entries: dict[int, str] = {}
        for serial_hex, entry in raw_entries.items():
            # Google writes serials as lower-case hex without leading zeros; compare them as numbers.
            try:
                serial = int(str(serial_hex), 16)
            except ValueError as exc:
                raise ValueError(f"status list serial {serial_hex!r} is not hexadecimal") from exc
            status = entry.get("status") if isinstance(entry, Mapping) else None
            if not isinstance(status, str):
                raise ValueError(f"status list entry {serial_hex!r} has no status")
            entries[serial] = status.upper()
        return cls(entries=entries)

    def status_of(self, serial: int) -> str | None:
        return self.entries.get(serial)
