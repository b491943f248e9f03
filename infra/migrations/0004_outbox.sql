-- Transactional outbox: one row per event x channel, written in the same transaction as the state
-- change that caused it, delivered at least once by `courier-api worker`.
create table outbox (
    id              bigserial primary key,
    event_id        uuid not null,
    event_type      text not null check (length(event_type) between 1 and 64),
    channel         text not null check (channel in ('webhook', 'email')),
    -- The receiver's idempotency key, `{event_id}:{channel}`; unique so a replayed enqueue is a no-op.
    dedupe_key      text not null unique,
    -- Identifiers only (orderId, claimId, decision...): contact details are read from orders at send time.
    payload         jsonb not null,
    -- Retries go back to 'pending' with a later next_attempt_at; there is no separate 'failed' state.
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
    check ((status = 'sending') = (leased_until is not null))
);
-- The claim query: due pending rows, and 'sending' rows whose lease ran out (their worker died).
create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending';
create index outbox_lease_idx on outbox (leased_until) where status = 'sending';
-- Support's dead-letter list, newest first.
create index outbox_dead_idx on outbox (updated_at desc) where status = 'dead';
create index outbox_event_idx on outbox (event_id);
