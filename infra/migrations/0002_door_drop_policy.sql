-- Door-drop policy versions: immutable documents, the version in force picked by effective_from.
create table door_drop_policies (
    version        integer primary key check (version >= 1),
    effective_from timestamptz not null,
    document       jsonb not null,
    created_by     text not null,
    created_at     timestamptz not null default now()
);

-- Versions are never edited or deleted: a decision must always be explainable by its version.
create function door_drop_policies_immutable() returns trigger language plpgsql as $$
begin
    raise exception 'door-drop policy versions are immutable' using errcode = 'restrict_violation';
end $$;
create trigger door_drop_policies_no_update before update or delete on door_drop_policies
    for each row execute function door_drop_policies_immutable();

-- Customers barred from door drops by support after confirmed fraud; lifting keeps the history.
create table door_drop_bars (
    id          bigserial primary key,
    customer_id text not null,
    reason      text not null,
    barred_by   text not null,
    barred_at   timestamptz not null default now(),
    lifted_by   text,
    lifted_at   timestamptz
);
create unique index door_drop_bars_active_idx on door_drop_bars (customer_id) where lifted_at is null;

-- Every door-drop decision stored for an order: what was asked, the verdict, and which version decided.
create table door_drop_decisions (
    id             bigserial primary key,
    order_id       text not null references orders (order_id),
    enabled        boolean not null,
    eligible       boolean not null,
    policy_version integer references door_drop_policies (version),
    reasons        jsonb not null,
    decided_by     text not null,
    decided_at     timestamptz not null
);
create index door_drop_decisions_order_idx on door_drop_decisions (order_id, decided_at desc);
