"""Orders: upstream snapshots and the delivery state we own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec

from infra.addresses import address_key, geo_cell
from infra.documents import OrderSnapshot
from infra.repositories.connection import Connection

DeliveryStatus = Literal["pending", "left_at_door"]


class OrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    courier_id: str | None
    city: str
    label_code: str
    snapshot: OrderSnapshot  # decoded once, here; nothing above decodes it again
    status: DeliveryStatus
    door_drop_enabled: bool
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    accepted_photo_id: uuid.UUID | None = None
    left_lat: float | None = None
    left_lon: float | None = None
    courier_first_name: str | None = None
    captured_at: datetime | None = None
    customer_notified_at: datetime | None = None


_COLUMNS = (
    "order_id, customer_id, courier_id, city, label_code, snapshot, status,"
    " door_drop_enabled, delivered_at, created_at, updated_at, accepted_photo_id, left_lat, left_lon,"
    " courier_first_name, captured_at, customer_notified_at"
)


class OrderRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def get(self, order_id: str, *, for_update: bool = False) -> OrderRecord | None:
        lock = " for update" if for_update else ""
        row = await self._conn.fetchrow(f"select {_COLUMNS} from orders where order_id = $1{lock}", order_id)  # noqa: S608
        return None if row is None else msgspec.convert(row, OrderRecord)

    async def upsert(
        self,
        *,
        order_id: str,
        customer_id: str,
        city: str,
        label_code: str,
        snapshot: OrderSnapshot | dict[str, Any],
    ) -> tuple[OrderRecord, bool]:
        """Insert or replace the snapshot (a struct, or its JSON form); returns the record and whether it was created."""
        typed = snapshot if isinstance(snapshot, OrderSnapshot) else msgspec.convert(snapshot, OrderSnapshot)
        address = typed.address
        row = await self._conn.fetchrow(
            f"""
            insert into orders (order_id, customer_id, city, label_code, snapshot, address_key, geo_cell)
            values ($1, $2, $3, $4, $5, $6, $7)
            on conflict (order_id) do update
               set customer_id = excluded.customer_id, city = excluded.city,
                   label_code = excluded.label_code, snapshot = excluded.snapshot,
                   address_key = excluded.address_key, geo_cell = excluded.geo_cell, updated_at = now()
            returning {_COLUMNS}, (xmax = 0) as created
            """,  # noqa: S608
            order_id,
            customer_id,
            city,
            label_code,
            msgspec.to_builtins(typed),
            address_key(address),
            geo_cell(address.lat, address.lon),
        )
        assert row is not None
        return msgspec.convert(row, OrderRecord), bool(row["created"])

    async def assign_courier(
        self, order_id: str, courier_id: str, first_name: str | None = None
    ) -> OrderRecord | None:
        row = await self._conn.fetchrow(
            f"""
            update orders set courier_id = $2, courier_first_name = $3, updated_at = now()
             where order_id = $1 returning {_COLUMNS}
            """,  # noqa: S608
            order_id,
            courier_id,
            first_name,
        )
        return None if row is None else msgspec.convert(row, OrderRecord)

    async def mark_left_at_door(
        self,
        order_id: str,
        *,
        photo_id: uuid.UUID,
        accepted_at: datetime,
        captured_at: datetime | None,
        lat: float | None,
        lon: float | None,
    ) -> None:
        await self._conn.execute(
            """
            update orders set status = 'left_at_door', accepted_photo_id = $2, delivered_at = $3,
                   captured_at = $4, left_lat = $5, left_lon = $6, updated_at = now()
             where order_id = $1 and status = 'pending'
            """,
            order_id,
            photo_id,
            accepted_at,
            captured_at,
            lat,
            lon,
        )

    async def mark_customer_notified(self, order_id: str, at: datetime) -> None:
        """The first delivered "left at your door" notification; later ones keep the first time."""
        await self._conn.execute(
            "update orders set customer_notified_at = $2 where order_id = $1 and customer_notified_at is null",
            order_id,
            at,
        )

    async def set_door_drop(self, order_id: str, enabled: bool) -> OrderRecord:
        row = await self._conn.fetchrow(
            f"""
            update orders set door_drop_enabled = $2, updated_at = now()
             where order_id = $1 returning {_COLUMNS}
            """,  # noqa: S608
            order_id,
            enabled,
        )
        assert row is not None
        return msgspec.convert(row, OrderRecord)

    async def created_between(
        self, start: datetime, end: datetime, *, after: tuple[datetime, str] | None = None, limit: int = 1000
    ) -> list[OrderRecord]:
        """One page of orders created in [start, end), in (created_at, order_id) order (keyset paging)."""
        after_at, after_id = after if after else (start, "")
        rows = await self._conn.fetch(
            f"""
            select {_COLUMNS} from orders
             where created_at >= $1 and created_at < $2 and (created_at, order_id) > ($3, $4)
             order by created_at, order_id limit $5
            """,  # noqa: S608
            start,
            end,
            after_at,
            after_id,
            limit,
        )
        return [msgspec.convert(row, OrderRecord) for row in rows]
