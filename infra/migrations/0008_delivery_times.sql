-- When a drop happened, as each party can vouch for it:
--   delivered_at          when the server accepted the photo (our clock; the claim window starts here
--                         at the earliest), no longer the courier's claimed capture time;
--   captured_at           the capture time the courier's app wrote into the photo (shown to support);
--   customer_notified_at  when the first "left at your door" notification went out on any channel:
--                         a late notification moves the start of the claim window with it.
alter table orders
    add column captured_at timestamptz,
    add column customer_notified_at timestamptz;
