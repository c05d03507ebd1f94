#!/usr/bin/python3
"""Drive calsync's Exchange simulator with exchangelib (the Debian package
python3-exchangelib) and print what exchangelib sees as one JSON document.

The Go test ews/ewsserver/ewsmem/exchangelib_test.go runs this script
against a simulator on a loopback port and compares the values with the
simulator's ground truth. Every scenario goes through exchangelib's public
API with ApplicationImpersonation, exactly as an application would use it.
"""
import argparse
import datetime
import json
import sys

from exchangelib import DELEGATE, IMPERSONATION, Account, CalendarItem, Configuration, Credentials, EWSDateTime, EWSTimeZone
from exchangelib.transport import BASIC, NTLM

UTC = EWSTimeZone("UTC")


def iso(dt):
    if dt is None:
        return None
    if isinstance(dt, datetime.datetime):
        if dt.tzinfo is None:  # free/busy times are wall clock in the requested zone (UTC here)
            return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.isoformat()


def parse(s):
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    return EWSDateTime(d.year, d.month, d.day, d.hour, d.minute, d.second, tzinfo=UTC)


def item_json(it):
    return {
        "item_id": it.id,
        "subject": it.subject,
        "start": iso(it.start),
        "end": iso(it.end),
        "all_day": bool(it.is_all_day),
        "free_busy": it.legacy_free_busy_status,
        "sensitivity": it.sensitivity,
        "cancelled": bool(it.is_cancelled),
        "item_type": it.type,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--auth", choices=["basic", "ntlm"], required=True)
    p.add_argument("--mailbox", required=True)
    p.add_argument("--other", required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    # delegate: --user holds FullAccess to the mailboxes and opens them
    # without impersonation (Exchange refuses delegate subscriptions, so
    # the notification scenarios are skipped).
    p.add_argument("--access", choices=["impersonation", "delegate"], default="impersonation")
    a = p.parse_args()
    access = DELEGATE if a.access == "delegate" else IMPERSONATION

    # No version given: exchangelib detects it as with any server (a
    # ConvertId probe, read from ServerVersionInfo).
    config = Configuration(service_endpoint=a.endpoint, credentials=Credentials(a.user, a.password),
                           auth_type=BASIC if a.auth == "basic" else NTLM)
    acc = Account(primary_smtp_address=a.mailbox, config=config, autodiscover=False, access_type=access,
                  default_timezone=UTC)
    other = Account(primary_smtp_address=a.other, config=config, autodiscover=False, access_type=access,
                    default_timezone=UTC)
    start, end = parse(a.start), parse(a.end)
    out = {"version": {"build": str(acc.version.build), "api_version": acc.version.api_version}}

    # Calendar view with expanded recurrences.
    view = list(acc.calendar.view(start=start, end=end))
    out["view"] = [item_json(it) for it in view]

    # GetItem of the first occurrences and of a recurring master.
    fetched = list(acc.fetch(ids=[(it.id, it.changekey) for it in view[:5]]))
    out["fetched"] = [item_json(it) for it in fetched if isinstance(it, CalendarItem)]

    # sync_items: initial sync, then one change of each kind.
    sync = {"initial": 0}
    for change_type, item in acc.calendar.sync_items(max_changes_returned=7):
        sync["initial"] += 1
    state = acc.calendar.item_sync_state

    # Pull and streaming subscriptions opened before the changes.
    subscribe = a.access == "impersonation"
    if subscribe:
        pull_id, watermark = acc.calendar.subscribe_to_pull(timeout=10)
        stream_id = acc.calendar.subscribe_to_streaming()

    created = CalendarItem(account=acc, folder=acc.calendar, subject="exchangelib created",
                           start=start + datetime.timedelta(hours=30), end=start + datetime.timedelta(hours=31),
                           legacy_free_busy_status="Busy")
    created.save(send_meeting_invitations="SendToNone")
    created.subject = "exchangelib updated"
    created.save(update_fields=["subject"], send_meeting_invitations="SendToNone")
    got = acc.calendar.get(id=created.id)
    out["crud"] = {"created_id": created.id, "updated_subject": got.subject}

    changes = {}
    for change_type, item in acc.calendar.sync_items(sync_state=state):
        changes[change_type] = changes.get(change_type, 0) + 1
    sync["after_create"] = changes
    state = acc.calendar.item_sync_state
    created.delete(send_meeting_cancellations="SendToNone")
    changes = {}
    for change_type, item in acc.calendar.sync_items(sync_state=state):
        changes[change_type] = changes.get(change_type, 0) + 1
    sync["after_delete"] = changes
    out["sync"] = sync

    out["pull_events"], out["stream_events"] = [], []
    if subscribe:
        # Pull events.
        for n in acc.calendar.get_events(subscription_id=pull_id, watermark=watermark):
            out["pull_events"].extend(type(e).__name__ for e in n.events)
        acc.calendar.unsubscribe(pull_id)
        # Streaming events (the changes above are queued on the subscription).
        for n in acc.calendar.get_streaming_events(stream_id, connection_timeout=1, max_notifications_returned=1):
            out["stream_events"].extend(type(e).__name__ for e in n.events)

    # Free/busy for two mailboxes.
    fb = []
    for view in acc.protocol.get_free_busy_info(accounts=[(acc, "Organizer", False), (other, "Required", False)],
                                                 start=start, end=end, merged_free_busy_interval=60):
        fb.append({"merged": view.merged, "events": [
            {"start": iso(e.start), "end": iso(e.end), "busy_type": e.busy_type} for e in (view.calendar_events or [])]})
    out["free_busy"] = fb

    oof = acc.oof_settings
    out["oof"] = {"state": oof.state, "start": iso(oof.start), "end": iso(oof.end)}
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
