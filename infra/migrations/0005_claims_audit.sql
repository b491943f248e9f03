-- Customer claims after a door drop, support decisions, and the audit trail of evidence views.

alter table orders add column courier_first_name text;

create table claims (
    claim_id       uuid primary key,
    order_id       text not null references orders (order_id),
    customer_id    text not null,
    kind           text not null check (kind in ('not_received', 'wrong_door', 'damaged')),
    comment        text not null,
    status         text not null default 'open' check (status in ('open', 'decided')),
    decision       text check (decision in ('compensate', 'reject')),
    amount_kopecks bigint check (amount_kopecks >= 0),
    reason         text,
    decided_by     text,
    decided_at     timestamptz,
    created_at     timestamptz not null default now(),
    check ((status = 'open') = (decision is null))
);
-- One open claim per order; decided claims stay as history.
create unique index claims_one_open_idx on claims (order_id) where status = 'open';
create index claims_created_idx on claims (created_at);
create index claims_customer_idx on claims (customer_id, created_at);

-- Every view of evidence: who, what, when. Append-only.
create table evidence_audit (
    id         bigserial primary key,
    actor_role text not null,
    actor_id   text not null,
    action     text not null,
    order_id   text,
    photo_id   uuid,
    request_id text,
    at         timestamptz not null default now()
);
create index evidence_audit_order_idx on evidence_audit (order_id, at);
create index evidence_audit_at_idx on evidence_audit (at);

create function evidence_audit_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'the evidence audit log is append-only' using errcode = 'restrict_violation';
end $$;
create trigger evidence_audit_no_update before update or delete on evidence_audit
    for each row execute function evidence_audit_append_only();

create index orders_delivered_idx on orders (delivered_at) where delivered_at is not null;
