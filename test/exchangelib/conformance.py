#!/usr/bin/python3
"""Drive calsync's Exchange simulator with exchangelib (the Debian package
python3-exchangelib) and print what exchangelib sees as one JSON document.

The Go test ews/ewsserver/ewsmem/exchangelib_test.go runs this script
against a simulator on a loopback port and compares the values with the
simulator's ground truth. Every scenario goes through exchangelib's public
API, exactly as an application would use it: with ApplicationImpersonation,
or (--access delegate) as a user holding FullAccess.
"""
import argparse
import datetime
import json
import sys

from exchangelib import DELEGATE, IMPERSONATION, Account, CalendarItem, Configuration, Credentials, EWSDateTime, EWSTimeZone
from exchangelib.errors import EWSError
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.transport import BASIC, NTLM

UTC = EWSTimeZone("UTC")


class ProjectCode(ExtendedProperty):
    """A custom named property, as applications tag their items."""
    distinguished_property_set_id = "PublicStrings"
    property_name = "calsync-conformance-project"
    property_type = "String"


class StateFlags(ExtendedProperty):
    """PidLidAppointmentStateFlags: 0x1 meeting, 0x4 cancelled."""
    distinguished_property_set_id = "Appointment"
    property_id = 0x8217
    property_type = "Integer"


# Every CalendarItem exchangelib fetches now asks for both properties.
CalendarItem.register("project_code", ProjectCode)
CalendarItem.register("state_flags", StateFlags)


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


def crud(acc, start, state):
    """Create, update, cancel through PidLidAppointmentStateFlags and delete
    one item; with a sync state, count the sync changes after the create
    and after the delete."""
    created = CalendarItem(account=acc, folder=acc.calendar, subject="exchangelib created",
                           start=start + datetime.timedelta(hours=30), end=start + datetime.timedelta(hours=31),
                           legacy_free_busy_status="Busy", project_code="P-42")
    created.save(send_meeting_invitations="SendToNone")
    created.subject = "exchangelib updated"
    created.save(update_fields=["subject"], send_meeting_invitations="SendToNone")
    got = acc.calendar.get(id=created.id)
    out = {"created_id": created.id, "updated_subject": got.subject, "project_code": got.project_code,
           "state_flags": got.state_flags, "cancelled": bool(got.is_cancelled)}
    got.state_flags = 5  # a meeting, cancelled
    got.save(update_fields=["state_flags"], send_meeting_invitations="SendToNone")
    cancelled = acc.calendar.get(id=created.id)
    out["cancelled_by_flags"] = {"cancelled": bool(cancelled.is_cancelled), "meeting": bool(cancelled.is_meeting),
                                 "state_flags": cancelled.state_flags}
    after_create = {}
    if state is not None:
        for change_type, item in acc.calendar.sync_items(sync_state=state):
            after_create[change_type] = after_create.get(change_type, 0) + 1
        state = acc.calendar.item_sync_state
    cancelled.delete(send_meeting_cancellations="SendToNone")
    after_delete = {}
    if state is not None:
        for change_type, item in acc.calendar.sync_items(sync_state=state):
            after_delete[change_type] = after_delete.get(change_type, 0) + 1
    return out, after_create, after_delete


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
    # without impersonation.
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

    # Pull and streaming subscriptions opened before the changes. Exchange
    # refuses a delegate's subscription to another user's mailbox
    # (ErrorSubscriptionDelegateAccessNotSupported, "subscribe as the
    # mailbox owner" — Microsoft, Handling delegation-related errors in
    # EWS), so the delegate run checks that refusal and streams its own
    # mailbox, opened with the same delegate access type.
    subscriber = acc
    out["delegate_subscribe"] = []
    if a.access == "delegate":
        for subscribe in (lambda: acc.calendar.subscribe_to_pull(timeout=10), acc.calendar.subscribe_to_streaming):
            try:
                subscribe()
                out["delegate_subscribe"].append("NoError")
            except EWSError as e:
                out["delegate_subscribe"].append(type(e).__name__)
        subscriber = Account(primary_smtp_address=a.user, config=config, autodiscover=False, access_type=access,
                             default_timezone=UTC)
    pull_id, watermark = subscriber.calendar.subscribe_to_pull(timeout=10)
    stream_id = subscriber.calendar.subscribe_to_streaming()

    out["crud"], sync["after_create"], sync["after_delete"] = crud(acc, start, state)
    out["sync"] = sync
    if subscriber is not acc:
        crud(subscriber, start, None)

    out["pull_events"], out["stream_events"] = [], []
    for n in subscriber.calendar.get_events(subscription_id=pull_id, watermark=watermark):
        out["pull_events"].extend(type(e).__name__ for e in n.events)
    subscriber.calendar.unsubscribe(pull_id)
    # Streaming events (the changes above are queued on the subscription).
    for n in subscriber.calendar.get_streaming_events(stream_id, connection_timeout=1, max_notifications_returned=1):
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
