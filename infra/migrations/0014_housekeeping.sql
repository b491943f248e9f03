-- Housekeeping that scales (see docs/scaling.md, "Housekeeping"):
--   * outbox and evidence_audit become partitioned by month, idempotency_keys by day, so retention
--     drops whole partitions instead of deleting rows. Existing rows are copied into the new tables.
--   * object_intents: every S3 key an upload is about to write, so reconcile checks those, not the bucket.
--   * the indexes the purges and the retention job need (they scanned photo_attempts before).
-- photo_attempts stays one table: its guarantees cannot survive partitioning (docs/scaling.md says why).
--
-- Partition names: {table}_pYYYY_MM (monthly) and {table}_pYYYY_MM_DD (daily), bounds in UTC. The hourly
-- job creates them ahead (infra/repositories/housekeeping.py); this file creates what the existing rows
-- and the next days need. PRIMARY KEY/UNIQUE on a partitioned table must include the partition key, so
-- outbox.dedupe_key and idempotency_keys (actor, key) are kept unique by an advisory lock in the
-- repositories instead (see OutboxRepository.enqueue and IdempotencyRepository.remember).

-- A monthly or daily range partition of `parent` starting at `start` (UTC), unless it exists.
create function housekeeping_create_partition(parent text, start timestamptz, step interval)
returns void language plpgsql as $$
declare
    utc_start timestamp := start at time zone 'UTC';
    suffix text := case when step = interval '1 month' then to_char(utc_start, 'YYYY_MM')
                        else to_char(utc_start, 'YYYY_MM_DD') end;
begin
    execute format(
        'create table if not exists %I partition of %I for values from (%L) to (%L)',
        parent || '_p' || suffix, parent,
        (utc_start at time zone 'UTC'), ((utc_start + step) at time zone 'UTC'));
end $$;

-- ---------------------------------------------------------------------------------------------------
-- outbox, by month of created_at
alter table outbox rename to outbox_unpartitioned;
alter table outbox_unpartitioned rename constraint outbox_pkey to outbox_unpartitioned_pkey;
create table outbox (
    id              bigint not null default nextval('outbox_id_seq'),
    event_id        uuid not null,
    event_type      text not null check (length(event_type) between 1 and 64),
    channel         text not null check (channel in ('webhook', 'email')),
    -- `{event_id}:{channel}`; unique per event and channel, kept so by an advisory lock at enqueue
    -- (a unique index would have to include created_at, and a replay has a later created_at).
    dedupe_key      text not null,
    payload         jsonb not null,
    status          text not null default 'pending'
                    check (status in ('pending', 'sending', 'sent', 'dead', 'skipped')),
    attempts        integer not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null default now(),
    leased_by       text,
    leased_until    timestamptz,
    last_error      text check (length(last_error) <= 500),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    sent_at         timestamptz,
    check ((status = 'sending') = (leased_until is not null)),
    primary key (id, created_at)
) partition by range (created_at);
alter sequence outbox_id_seq owned by outbox.id;

do $$
declare month timestamptz;
begin
    for month in
        select generate_series(
            date_trunc('month', coalesce(min(created_at), now()) at time zone 'UTC') at time zone 'UTC',
            date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' + interval '2 months',
            interval '1 month')
          from outbox_unpartitioned
    loop
        perform housekeeping_create_partition('outbox', month, interval '1 month');
    end loop;
end $$;
insert into outbox select * from outbox_unpartitioned;
drop table outbox_unpartitioned;

create index outbox_dedupe_idx on outbox (dedupe_key);
create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending';
create index outbox_lease_idx on outbox (leased_until) where status = 'sending';
create index outbox_dead_idx on outbox (updated_at desc) where status = 'dead';
create index outbox_event_idx on outbox (event_id);

-- ---------------------------------------------------------------------------------------------------
-- evidence_audit, by month of `at`. Rows stay append-only (the trigger is on the parent, so on every
-- partition); retention drops whole months, which no row trigger sees: that is the only way out.
alter table evidence_audit rename to evidence_audit_unpartitioned;
alter table evidence_audit_unpartitioned rename constraint evidence_audit_pkey to evidence_audit_unpartitioned_pkey;
create table evidence_audit (
    id         bigint not null default nextval('evidence_audit_id_seq'),
    actor_role text not null,
    actor_id   text not null,
    action     text not null,
    order_id   text,
    photo_id   uuid,
    request_id text,
    at         timestamptz not null default now(),
    primary key (id, at)
) partition by range (at);
alter sequence evidence_audit_id_seq owned by evidence_audit.id;

do $$
declare month timestamptz;
begin
    for month in
        select generate_series(
            date_trunc('month', coalesce(min(at), now()) at time zone 'UTC') at time zone 'UTC',
            date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' + interval '2 months',
            interval '1 month')
          from evidence_audit_unpartitioned
    loop
        perform housekeeping_create_partition('evidence_audit', month, interval '1 month');
    end loop;
end $$;
insert into evidence_audit select * from evidence_audit_unpartitioned;
drop table evidence_audit_unpartitioned;

create index evidence_audit_order_idx on evidence_audit (order_id, at);
create index evidence_audit_at_idx on evidence_audit (at);
create trigger evidence_audit_no_update before update or delete on evidence_audit
    for each row execute function evidence_audit_append_only();

-- ---------------------------------------------------------------------------------------------------
-- idempotency_keys, by day of created_at: keys matter for IDEMPOTENCY_REPLAY_HOURS (48 h by default),
-- so a monthly partition would keep ~15 times the rows that can still be replayed. Rows older than
-- today go to one `legacy` partition, dropped as a whole once the replay window has passed it.
alter table idempotency_keys rename to idempotency_keys_unpartitioned;
alter table idempotency_keys_unpartitioned
    rename constraint idempotency_keys_pkey to idempotency_keys_unpartitioned_pkey;
create table idempotency_keys (
    actor        text not null,
    key          text not null,
    request_hash text not null,
    status_code  integer not null,
    response     jsonb not null,
    created_at   timestamptz not null default now(),
    -- (actor, key) is unique by an advisory lock in IdempotencyRepository.remember; the index includes
    -- created_at only because a partitioned table's primary key must.
    primary key (actor, key, created_at)
) partition by range (created_at);

do $$
declare
    today timestamptz := date_trunc('day', now() at time zone 'UTC') at time zone 'UTC';
    day timestamptz;
begin
    execute format(
        'create table idempotency_keys_legacy partition of idempotency_keys for values from (minvalue) to (%L)',
        today);
    for day in select generate_series(today, today + interval '7 days', interval '1 day') loop
        perform housekeeping_create_partition('idempotency_keys', day, interval '1 day');
    end loop;
end $$;
insert into idempotency_keys select * from idempotency_keys_unpartitioned;
drop table idempotency_keys_unpartitioned;

-- ---------------------------------------------------------------------------------------------------
-- S3 keys an upload is about to write. Recorded in a short transaction before each put; the attempt's
-- insert deletes the keys it references (same transaction). What is left after the grace period is an
-- upload that crashed or was refused after its put: reconcile deletes those objects.
create table object_intents (
    key        text primary key,
    -- The attempt that would reference the key: reconcile's check is a primary-key lookup.
    photo_id   uuid not null,
    created_at timestamptz not null
);
create index object_intents_created_idx on object_intents (created_at);

-- ---------------------------------------------------------------------------------------------------
-- Indexes the scheduled jobs need.
-- Retention and re-verification walk attempts by age among those whose evidence is still stored.
create index photo_attempts_retention_idx on photo_attempts (created_at) where deleted_at is null;
-- The foreign key of attempts to sessions: purging a session checks it (without this, a scan of all attempts).
create index photo_attempts_session_idx on photo_attempts (session_id);
create index capture_sessions_expires_idx on capture_sessions (expires_at);
