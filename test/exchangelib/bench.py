#!/usr/bin/python3
"""The exchangelib side of `calsync bench -compare exchangelib`: the job
calsync's initial load does, written as an exchangelib application would
write it, so that wall time, CPU and peak RSS can be compared.

For every mailbox (one line of --mailboxes-file), on a thread pool of
--concurrency workers, through exchangelib's public API with
ApplicationImpersonation:
  1. Account(...).calendar.view(start, end).only(<the fields calsync
     reads>), iterated to the end (FindItem with a CalendarView, paged as
     exchangelib pages it; exchangelib looks the calendar folder up with
     GetFolder first);
  2. account.calendar.subscribe_to_streaming() (Subscribe, with the
     X-AnchorMailbox / X-PreferServerAffinity headers exchangelib sends and
     the X-BackEndOverrideCookie it keeps per account).
As subscriptions come in they are grouped by mailbox server (the
"smtp server" lines the bench passes: the simulator's own list, the
grouping calsync learns from Autodiscover's GroupingInformation; exchangelib
gets it free) into streaming connections of at most 200 subscriptions, the
same grouping calsync uses, each anchored at one mailbox of its group; each
connection is a
GetStreamingEvents opened by exchangelib's GetStreamingEvents service on a
thread of its own (exchangelib's streaming call blocks while the
connection is open). A connection counts as open once exchangelib has
parsed the server's first response on it (ConnectionStatus OK).

The job is done when every mailbox has been viewed and every subscription
sits on an open streaming connection. The script then prints one JSON
document and exits without closing the connections (the parent measures the
process's CPU and peak RSS from its exit status). The exchangelib session
pool holds --concurrency sessions for the workers plus one per streaming
connection, so the streams never take a worker's session: at most
--concurrency requests other than the streams are in flight, as in calsync.

One workaround: exchangelib's sessions are shared by all accounts, and their
cookie jars would send one mailbox's X-BackEndOverrideCookie with the next
account's requests (Subscribe then lands on the first mailbox's server, and
a stream over several subscriptions fails with ErrorProxyRequestNotAllowed).
The sessions here keep no cookies, so every request is routed by the
X-AnchorMailbox header exchangelib sends with it.
"""
import time

T0 = time.monotonic()  # before the imports: their cost is reported apart

import argparse
import datetime
import http.cookiejar
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

from exchangelib import IMPERSONATION, Account, Configuration, Credentials, EWSDateTime, EWSTimeZone
from exchangelib.protocol import BaseProtocol
from exchangelib.services import GetStreamingEvents
from exchangelib.transport import BASIC, NTLM

UTC = EWSTimeZone("UTC")
# What calsync's CalendarView asks for (ews/ewsclient/properties.go):
# with .only(), exchangelib asks FindItem for these and needs no GetItem.
FIELDS = ("subject", "sensitivity", "categories", "last_modified_time", "uid", "start", "end", "is_all_day",
          "legacy_free_busy_status", "location", "is_meeting", "is_cancelled", "is_recurring", "type",
          "my_response_type", "organizer")
PER_CONNECTION = 200  # subscriptions per streaming connection (Exchange's limit)


def parse(s):
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    return EWSDateTime(d.year, d.month, d.day, d.hour, d.minute, d.second, tzinfo=UTC)


_raw_session = BaseProtocol.raw_session.__func__


def _cookieless_session(cls, *args, **kwargs):
    session = _raw_session(cls, *args, **kwargs)
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


BaseProtocol.raw_session = classmethod(_cookieless_session)


class Stream:
    """One streaming connection over up to 200 subscriptions."""

    def __init__(self, anchor, ids):
        self.ids = ids
        self.svc = GetStreamingEvents(account=anchor)
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            for _ in self.svc.call(subscription_ids=self.ids, connection_timeout=30):
                pass
        except Exception as e:  # reported, and the job fails
            self.error = f"{type(e).__name__}: {e}"

    def is_open(self):
        return self.svc.connection_status == GetStreamingEvents.OK


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--auth", choices=["basic", "ntlm"], default="basic")
    p.add_argument("--mailboxes-file", required=True, help='lines "smtp server"')
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    a = p.parse_args()
    with open(a.mailboxes_file) as f:
        server_of = dict(line.split() for line in f if line.strip())
    mailboxes = list(server_of)
    start, end = parse(a.start), parse(a.end)
    imported = time.monotonic()
    import_cpu = time.process_time()

    # Sessions: the workers' plus one per streaming connection (at most one
    # partly filled connection per mailbox server beyond the full ones).
    most_streams = len(mailboxes) // PER_CONNECTION + 64
    config = Configuration(service_endpoint=a.endpoint, credentials=Credentials(a.user, a.password),
                           auth_type=BASIC if a.auth == "basic" else NTLM,
                           max_connections=a.concurrency + most_streams)

    def one(smtp):
        acc = Account(primary_smtp_address=smtp, config=config, autodiscover=False,
                      access_type=IMPERSONATION, default_timezone=UTC)
        items = sum(1 for _ in acc.calendar.view(start=start, end=end).only(*FIELDS))
        sub = acc.calendar.subscribe_to_streaming()
        return acc, sub, items

    streams, pending, items, errors = [], {}, 0, []

    def flush(server):
        accs = pending.pop(server)
        streams.append(Stream(accs[0][0], [sub for _, sub in accs]))

    with ThreadPoolExecutor(max_workers=a.concurrency) as pool:
        futures = {pool.submit(one, m): m for m in mailboxes}
        for fut in as_completed(futures):
            try:
                acc, sub, n = fut.result()
            except Exception as e:
                errors.append(f"{futures[fut]}: {type(e).__name__}: {e}")
                continue
            items += n
            server = server_of[futures[fut]]
            group = pending.setdefault(server, [])
            group.append((acc, sub))
            if len(group) == PER_CONNECTION:
                flush(server)
    viewed = time.monotonic()
    for server in list(pending):
        flush(server)
    while not all(s.is_open() or s.error for s in streams):
        time.sleep(0.01)  # polling the connections' state, set by their threads
    done = time.monotonic()
    errors += [s.error for s in streams if s.error]
    json.dump({
        "mailboxes": len(mailboxes),
        "items": items,
        "subscriptions": sum(len(s.ids) for s in streams),
        "connections": len(streams),
        "startup_seconds": imported - T0,
        "startup_cpu_seconds": import_cpu,
        "viewed_seconds": viewed - imported,
        "done_seconds": done - imported,
        "errors": errors[:20],
        "error_count": len(errors),
    }, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    # The streaming threads block in exchangelib's reads; end without
    # waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
