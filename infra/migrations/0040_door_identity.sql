-- Door identity (issue 14): which address an order is at, which map cell its building is in, and the
-- doorstep fingerprint of every photo attempt, so a door offered as proof for another address is found
-- by index (cell, address, delivery time), never by a scan over all photos.

-- `infra.addresses.address_key`: "id:<upstream address id>" or "text:<normalised text>". Orders stored
-- before this migration have none until their next upsert; the candidate search computes theirs from
-- the snapshot it reads anyway.
alter table orders
    add column address_key text,
    add column geo_cell bigint;

-- `infra.addresses.geo_cell`, the same arithmetic in SQL (IEEE doubles on both sides).
update orders
   set geo_cell = floor((snapshot -> 'address' ->> 'lat')::float8 * 600)::bigint * 1000000
                + floor((snapshot -> 'address' ->> 'lon')::float8 * 400)::bigint;

-- Candidates are accepted photos (an order with an accepted photo), newest first, per cell or address.
create index orders_door_cell_idx on orders (geo_cell, delivered_at) where accepted_photo_id is not null;
create index orders_door_address_idx on orders (address_key, delivered_at) where accepted_photo_id is not null;

-- `photo_pipeline.doorstep` fingerprint (<= ~5 KB); empty for attempts recorded before it existed.
alter table photo_attempts add column doorstep bytea not null default ''::bytea;
