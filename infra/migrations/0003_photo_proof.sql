-- Photo proof at the door: enrolled devices, capture sessions, every photo attempt, idempotent uploads.

create table courier_devices (
    device_id   uuid primary key,
    courier_id  text not null,
    public_key  bytea not null check (length(public_key) = 32),  -- Ed25519, raw
    platform    text not null,
    enrolled_at timestamptz not null default now(),
    revoked_at  timestamptz
);
create index courier_devices_courier_idx on courier_devices (courier_id);

create table capture_sessions (
    session_id  uuid primary key,
    order_id    text not null references orders (order_id),
    courier_id  text not null,
    device_id   uuid not null references courier_devices (device_id),
    nonce       text not null unique,
    opened_at   timestamptz not null,
    expires_at  timestamptz not null,
    policy_version integer,
    completed_at timestamptz
);
create index capture_sessions_order_idx on capture_sessions (order_id);

create table photo_attempts (
    photo_id        uuid primary key,
    session_id      uuid not null references capture_sessions (session_id),
    order_id        text not null references orders (order_id),
    courier_id      text not null,
    device_id       uuid not null references courier_devices (device_id),
    accepted        boolean not null,
    checks          jsonb not null,
    sha256          text not null,
    size_bytes      integer not null,
    width           integer not null,
    height          integer not null,
    -- 64-bit perceptual hash, and its four 16-bit bands: two hashes within Hamming distance 3
    -- share at least one band exactly (pigeonhole), so near-duplicates are found by index.
    perceptual_hash bigint not null,
    hash_band_0     integer not null,
    hash_band_1     integer not null,
    hash_band_2     integer not null,
    hash_band_3     integer not null,
    detail_hash     bytea not null,  -- 256-bit hash that confirms a band candidate
    captured_at     timestamptz,
    lat             double precision,
    lon             double precision,
    distance_m      double precision,
    label_share     double precision,
    decoded_label   text,
    original_key    text not null,
    customer_copy_key text,
    created_at      timestamptz not null default now(),
    deleted_at      timestamptz  -- evidence removed by the retention job
);
create index photo_attempts_order_idx on photo_attempts (order_id, created_at);
create index photo_attempts_sha_idx on photo_attempts (sha256);
create index photo_attempts_band0_idx on photo_attempts (hash_band_0);
create index photo_attempts_band1_idx on photo_attempts (hash_band_1);
create index photo_attempts_band2_idx on photo_attempts (hash_band_2);
create index photo_attempts_band3_idx on photo_attempts (hash_band_3);
-- At most one accepted photo per order, whatever races happen.
create unique index photo_attempts_one_accepted_idx on photo_attempts (order_id) where accepted;

alter table orders
    add column accepted_photo_id uuid references photo_attempts (photo_id),
    add column left_lat double precision,
    add column left_lon double precision;

-- Replays of uploads: the same key from the same actor answers the first answer again.
create table idempotency_keys (
    actor        text not null,
    key          text not null,
    request_hash text not null,
    status_code  integer not null,
    response     jsonb not null,
    created_at   timestamptz not null default now(),
    primary key (actor, key)
);
