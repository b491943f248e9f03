"""Wire views built from repository records by msgspec (`view_of`), not by hand-written copiers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from courier_api.schemas.claims import AttemptEvidence, IncidentRow
from courier_api.schemas.outbox import OutboxEntryView
from courier_api.schemas.records import view_of
from courier_api.use_cases.outbox import entry_view
from infra.repositories.capture import AttemptRecord
from infra.repositories.claims import WeeklyCityIncidents
from infra.repositories.outbox import OutboxEntry

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _attempt(**changes: object) -> AttemptRecord:
    record = AttemptRecord(
        photo_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        order_id="A-1",
        courier_id="c-1",
        device_id=uuid.uuid4(),
        device_attestation="tee",
        accepted=False,
        checks=[{"code": "label.found", "passed": False, "detail": "no label"}],
        sha256="ab" * 32,
        size_bytes=2_900_000,
        width=3000,
        height=4000,
        perceptual_hash=7,
        captured_at=AT,
        lat=55.75,
        lon=37.61,
        distance_m=12.5,
        label_share=None,
        decoded_label=None,
        original_key="originals/x",
        customer_copy_key=None,
        created_at=AT,
        deleted_at=None,
    )
    return msgspec.structs.replace(record, **changes)


def test_fields_that_line_up_are_copied_and_nested_rows_converted() -> None:
    attempt = _attempt()
    view = view_of(AttemptEvidence, attempt, verdict="rejected", original_url="https://s3/x")
    assert view.photo_id == attempt.photo_id
    assert (view.size_bytes, view.width, view.height, view.lat, view.distance_m) == (
        2_900_000,
        3000,
        4000,
        55.75,
        12.5,
    )
    assert [(c.code, c.passed, c.detail) for c in view.checks] == [("label.found", False, "no label")]
    assert view.original_url == "https://s3/x"
    assert view.customer_copy_url is None


def test_a_misspelt_extra_field_is_refused_not_ignored() -> None:
    with pytest.raises(TypeError, match="verdikt"):
        view_of(AttemptEvidence, _attempt(), verdikt="rejected")


def test_a_required_field_the_record_lacks_is_an_error() -> None:
    with pytest.raises(msgspec.ValidationError, match="verdict"):
        view_of(AttemptEvidence, _attempt())


def test_incident_rows_get_their_rate_beside_the_copied_counts() -> None:
    week = WeeklyCityIncidents(
        city="Moscow",
        week_start=AT,
        door_drops=400,
        rejected_attempts=9,
        claims=2,
        compensations=1,
        compensated_kopecks=150_000,
        advisories=3,
    )
    row = view_of(IncidentRow, week, claims_per_1000_drops=5.0)
    assert msgspec.json.decode(msgspec.json.encode(row)) == {
        "city": "Moscow",
        "weekStart": "2026-03-02T10:00:00Z",
        "doorDrops": 400,
        "rejectedAttempts": 9,
        "claims": 2,
        "compensations": 1,
        "compensatedKopecks": 150_000,
        "claimsPer1000Drops": 5.0,
        "advisories": 3,
    }


def test_an_outbox_entry_reads_as_before_with_the_order_from_its_payload() -> None:
    event_id = uuid.uuid4()
    entry = OutboxEntry(
        id=7,
        event_id=event_id,
        event_type="door_drop.completed",
        channel="email",
        dedupe_key="k",
        payload={"orderId": "A-1"},
        status="dead",
        attempts=8,
        next_attempt_at=AT,
        leased_by=None,
        leased_until=None,
        last_error="550 mailbox unavailable",
        created_at=AT,
        updated_at=AT,
        sent_at=None,
    )
    assert entry_view(entry) == OutboxEntryView(
        id=7,
        event_id=str(event_id),
        event_type="door_drop.completed",
        channel="email",
        dedupe_key="k",
        status="dead",
        attempts=8,
        created_at=AT,
        updated_at=AT,
        next_attempt_at=AT,
        order_id="A-1",
        last_error="550 mailbox unavailable",
    )
    assert entry_view(msgspec.structs.replace(entry, payload={"orderId": 5})).order_id is None
