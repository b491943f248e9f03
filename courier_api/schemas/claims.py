"""Customer deliveries, claims, support evidence, audit and rollout health on the wire (bars: `use_cases/bars.py`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from courier_api.schemas.capture import SupportCheckView
from infra.documents import NO_NUL, WireStruct

ClaimKind = Literal["not_received", "wrong_door", "damaged"]
Decision = Literal["compensate", "reject"]
Comment = Annotated[str, msgspec.Meta(max_length=2000), NO_NUL]
ReasonText = Annotated[str, msgspec.Meta(min_length=1, max_length=2000), NO_NUL]


class ClaimRequest(WireStruct):
    kind: ClaimKind
    comment: Comment = ""


class ClaimView(WireStruct):
    claim_id: uuid.UUID
    order_id: str
    kind: str
    comment: str
    status: str
    created_at: datetime
    decision: str | None = None
    amount_kopecks: int | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


class CustomerDelivery(WireStruct):
    order_id: str
    status: str
    door_drop: bool
    left_at: datetime | None = None
    courier_first_name: str | None = None
    # Short-lived URL of the customer copy (no EXIF, no GPS); never the original.
    photo_url: str | None = None
    photo_url_expires_at: datetime | None = None
    claim_deadline: datetime | None = None
    claims: list[ClaimView] = msgspec.field(default_factory=list)


class ClaimDecisionRequest(WireStruct):
    decision: Decision
    reason: ReasonText
    amount_kopecks: Annotated[int, msgspec.Meta(ge=1, le=10**13)] | None = None


class AttemptEvidence(WireStruct):
    photo_id: uuid.UUID
    verdict: Literal["accepted", "rejected"]
    checks: list[SupportCheckView]
    sha256: str
    size_bytes: int
    width: int
    height: int
    session_id: uuid.UUID
    device_id: uuid.UUID
    # The device's attestation level when the photo was made: strongbox, tee, app_attest or none.
    device_attestation: Literal["strongbox", "tee", "app_attest", "none"]
    courier_id: str
    created_at: datetime
    captured_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = None
    label_share: float | None = None
    decoded_label: str | None = None
    original_url: str | None = None
    customer_copy_url: str | None = None
    evidence_deleted_at: datetime | None = None


class StoredEvidence(WireStruct):
    photo_id: uuid.UUID
    sha256: str
    # The object was fetched from storage again and hashed: does it still match what was recorded?
    stored_object_matches: bool
    original_url: str
    customer_copy_url: str | None
    map_url: str | None


class DecisionRecordView(WireStruct):
    enabled: bool
    eligible: bool
    policy_version: int | None
    decided_by: str
    decided_at: datetime


class OrderEvidence(WireStruct):
    order_id: str
    status: str
    customer_id: str
    courier_id: str | None
    courier_first_name: str | None
    address_text: str
    address_lat: float
    address_lon: float
    door_drop_enabled: bool
    left_at: datetime | None
    last_door_drop_decision: DecisionRecordView | None
    session_policy_versions: list[int]
    accepted: StoredEvidence | None
    attempts: list[AttemptEvidence]
    claims: list[ClaimView]
    urls_expire_at: datetime
    # `left_at` is when the server accepted the photo; these are the other two clocks of the drop.
    captured_at: datetime | None = None  # what the courier's app wrote into the photo
    customer_notified_at: datetime | None = None  # first notification delivered to the customer
    claim_deadline: datetime | None = None


class AuditEntry(WireStruct):
    id: int
    actor_role: str
    actor_id: str
    action: str
    at: datetime
    order_id: str | None = None
    photo_id: uuid.UUID | None = None
    request_id: str | None = None
    device_id: uuid.UUID | None = None


class IncidentRow(WireStruct):
    city: str
    week_start: datetime
    door_drops: int
    rejected_attempts: int
    claims: int
    compensations: int
    compensated_kopecks: int
    claims_per_1000_drops: float | None
    # attempts with a failed advisory check (door.unfamiliar): accepted, worth a look
    advisories: int


class CityTotals(WireStruct):
    city: str
    door_drops: int
    rejected_attempts: int
    claims: int
    compensations: int
    compensated_kopecks: int
    claims_per_1000_drops: float | None
    compensations_per_1000_drops: float | None
    advisories: int


class CourierAdvisoryRow(WireStruct):
    """A courier whose attempts in the range carry advisory findings, per city."""

    courier_id: str
    city: str
    attempts: int
    advisories: int


class IncidentReport(WireStruct):
    start: datetime
    end: datetime
    weeks: list[IncidentRow]
    cities: list[CityTotals]
    # couriers with at least one advisory finding, most first (at most 100)
    couriers: list[CourierAdvisoryRow] = msgspec.field(default_factory=list)
