"""Door identity at the moment a photo would be accepted: is this doorstep another address's door?

The whole-frame perceptual-hash duplicate check is gone: it refused honest repeat deliveries to the
same door and missed the neighbour's door of the same building. What replaces it (issue 14):
- `reuse.duplicate` (blocking) fails when the photo's doorstep matches an accepted photo of a
  different address delivered in the last `DOOR_WINDOW`, or when another order has an attempt of
  exactly the same bytes;
- `door.matches_history` passes when it matches an earlier accepted photo of the same address;
- `door.unfamiliar` (advisory: never rejects) fails when the address has at least
  `UNFAMILIAR_MIN_HISTORY` earlier accepted photos and none matches;
- no door check at all on an address's first delivery (nothing to compare with).

`door_checks` decides from comparison results (pure); `door_verdict` gathers them in the accepting
transaction, under the cell locks `_record` takes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec

from infra.addresses import address_key, cells_around, geo_cell
from infra.repositories import UnitOfWork
from infra.repositories.capture import DoorCandidate
from infra.repositories.orders import OrderRecord
from photo_pipeline.doorstep import compare_with_many

Severity = Literal["blocking", "advisory"]

# How far back a door is remembered: longer than a season of repeat orders, short enough that a
# new tenant's door is not held against an old address for ever.
DOOR_WINDOW: Final = timedelta(days=180)
# The candidate bound, stated: at most this many accepted photos are compared per upload. A
# stored photo of another door costs ~0.4 ms of CPU in `compare_with_many` (each of eight orientations
# looked at with the strongest corners first, all candidates' first looks in one batch; a match ~2 ms;
# `python -m bench.bench_door_identity` prints it), so the accepting transaction spends ~25 ms in
# comparisons at a busy address, in a worker thread. The newest
# photos of this address, then the newest of other addresses in the address's own map cell (the
# same building), then its eight neighbours.
SAME_ADDRESS_MAX: Final = 12
NEARBY_MAX: Final = 48
UNFAMILIAR_MIN_HISTORY: Final = 2
# Support sees at most this many of the other orders a door was already used for.
_RELATED_SHOWN: Final = 20


class RecordedCheck(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A check as stored with the attempt: the pipeline's checks plus severity and, for support, links."""

    code: str
    passed: bool
    detail: str
    severity: Severity = "blocking"
    # Orders this check links the photo to (the other addresses a doorstep was accepted for).
    related_orders: tuple[str, ...] = ()

    @property
    def blocks(self) -> bool:
        """A failed blocking check rejects the photo; a failed advisory one never does."""
        return not self.passed and self.severity == "blocking"


class ComparedPhoto(msgspec.Struct, frozen=True, kw_only=True):
    """An earlier accepted photo near the address, and whether its doorstep matched the new one's."""

    order_id: str
    address_key: str
    matched: bool


def door_checks(
    *, address: str, compared: Sequence[ComparedPhoto], same_bytes: Sequence[str]
) -> list[RecordedCheck]:
    """`reuse.duplicate`, then the address's door check if it has history (see the module docstring)."""
    elsewhere = [c for c in compared if c.address_key != address and c.matched]
    other_addresses = {c.address_key for c in elsewhere}
    related = tuple(sorted({c.order_id for c in elsewhere} | set(same_bytes)))[:_RELATED_SHOWN]
    reasons = []
    if other_addresses:
        reasons.append(
            f"the doorstep matches accepted photos of {len(other_addresses)} other address(es)"
            f" from the last {DOOR_WINDOW.days} days"
        )
    if same_bytes:
        reasons.append(f"the same photo bytes were submitted for {len(same_bytes)} other order(s)")
    if reasons:
        reuse = RecordedCheck(
            code="reuse.duplicate", passed=False, detail="; ".join(reasons), related_orders=related
        )
    else:
        reuse = RecordedCheck(
            code="reuse.duplicate",
            passed=True,
            detail="no accepted photo of another address shows this doorstep; no other order has these bytes",
        )
    history = [c for c in compared if c.address_key == address]
    matching = sum(c.matched for c in history)
    if matching:
        return [
            reuse,
            RecordedCheck(
                code="door.matches_history",
                passed=True,
                detail=f"the doorstep matches {matching} of {len(history)} earlier accepted photo(s) of this address",
            ),
        ]
    if len(history) >= UNFAMILIAR_MIN_HISTORY:
        return [
            reuse,
            RecordedCheck(
                code="door.unfamiliar",
                passed=False,
                severity="advisory",
                detail=f"none of the {len(history)} earlier accepted photos of this address shows this doorstep",
            ),
        ]
    return [reuse]


async def door_verdict(
    uow: UnitOfWork, order: OrderRecord, fingerprint: bytes, sha256: str, now: datetime
) -> list[RecordedCheck]:
    """The door checks of a photo for `order`, read in the accepting transaction (cells locked first)."""
    address = order.snapshot.address
    key = address_key(address)
    candidates = await uow.attempts.door_candidates(
        cells=cells_around(address.lat, address.lon),
        centre=geo_cell(address.lat, address.lon),
        address_key=key,
        since=now - DOOR_WINDOW,
        other_than_order=order.order_id,
        limit_same_address=SAME_ADDRESS_MAX,
        limit_nearby=NEARBY_MAX,
    )
    same_bytes = await uow.attempts.same_bytes(sha256=sha256, other_than_order=order.order_id)
    compared = await asyncio.to_thread(_compare_all, fingerprint, candidates) if fingerprint else []
    return door_checks(address=key, compared=compared, same_bytes=same_bytes)


def lock_cells(order: OrderRecord) -> list[int]:
    """The cells `door_verdict` reads, which the accepting transaction locks before it."""
    address = order.snapshot.address
    return cells_around(address.lat, address.lon)


def _compare_all(fingerprint: bytes, candidates: Sequence[DoorCandidate]) -> list[ComparedPhoto]:
    # One call for all candidates: the upload's fingerprint is unpacked and turned once.
    matches = compare_with_many(
        fingerprint, [candidate.doorstep for candidate in candidates], exact_scores=False
    )
    return [
        ComparedPhoto(
            order_id=candidate.order_id,
            address_key=candidate.address_key or address_key(candidate.address),
            matched=match.matched,
        )
        for candidate, match in zip(candidates, matches, strict=True)
        if match is not None  # a fingerprint of another format: it cannot speak for or against
    ]
