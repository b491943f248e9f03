-- Tell every API process when door-drop policy versions or bars change, so each can keep them in
-- memory and reload only on change (see infra/change_feed.py). NOTIFY is sent at commit.
create function notify_door_drop_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('door_drop_changes', tg_table_name);
    return null;
end $$;

create trigger door_drop_policies_notify after insert on door_drop_policies
    for each statement execute function notify_door_drop_change();
create trigger door_drop_bars_notify after insert or update or delete on door_drop_bars
    for each statement execute function notify_door_drop_change();
