-- Browser sessions of the web pages. The cookie holds a random id; only its SHA-256 is stored, so
-- reading this table signs nobody in. Sign-out sets revoked_at: a replayed cookie finds its row revoked.
-- A session never outlives the token that opened it (expires_at), and one opened from a notification
-- link carries that link's order (order_scope): view-only, that one order.
create table web_sessions (
    id_hash     bytea primary key check (octet_length(id_hash) = 32),
    role        text not null,
    subject     text not null,
    order_scope text,
    created_at  timestamptz not null,
    expires_at  timestamptz not null check (expires_at > created_at),
    revoked_at  timestamptz
);
create index web_sessions_expires_idx on web_sessions (expires_at);
