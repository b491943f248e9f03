-- Fixed-window request counters shared by every API process (no limits held in process memory).
create table rate_limit_windows (
    bucket       text not null,
    subject      text not null,
    window_start timestamptz not null,
    hits         integer not null,
    primary key (bucket, subject, window_start)
);
create index rate_limit_windows_start_idx on rate_limit_windows (window_start);
