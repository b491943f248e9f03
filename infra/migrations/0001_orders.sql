-- Orders as the upstream order system sent them, plus the delivery state we own.
create table orders (
    order_id          text primary key check (length(order_id) between 1 and 64),
    customer_id       text not null,
    courier_id        text,
    city              text not null,
    label_code        text not null,
    -- The camelCase snapshot exactly as accepted (after validation), replaced on each upsert.
    snapshot          jsonb not null,
    status            text not null default 'pending' check (status in ('pending', 'left_at_door')),
    door_drop_enabled boolean not null default false,
    delivered_at      timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);
create index orders_customer_idx on orders (customer_id);
create index orders_courier_idx on orders (courier_id) where courier_id is not null;
create index orders_created_idx on orders (created_at);
