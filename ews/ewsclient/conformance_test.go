package ewsclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
)

// conformanceTarget is an EWS server the client conformance suite runs
// against: the simulator always, a real Exchange when the environment
// names one (as go-imap runs its suite against Dovecot).
type conformanceTarget struct {
	endpoint     string // …/EWS/Exchange.asmx
	autodiscover string // …/autodiscover/autodiscover.svc
	http         ewsclient.HTTPClient
	// mailbox is impersonated and written to (one item is created,
	// changed and deleted); other is only read (free/busy).
	mailbox, other string
}

// The environment of a real-Exchange run (docs/protocol.md).
const (
	envURL       = "CALSYNC_TEST_EWS_URL"       // https://mail.example.com/EWS/Exchange.asmx
	envUser      = "CALSYNC_TEST_EWS_USER"      // service account with ApplicationImpersonation
	envPassword  = "CALSYNC_TEST_EWS_PASSWORD"  // its password
	envMailboxes = "CALSYNC_TEST_EWS_MAILBOXES" // two test mailboxes: written,read-only
	envAuth      = "CALSYNC_TEST_EWS_AUTH"      // ntlm (default) or basic
)

func TestClientConformanceSimulator(t *testing.T) {
	for _, auth := range []string{"basic", "ntlm"} {
		t.Run(auth, func(t *testing.T) {
			sim, err := ewssim.New(ewssim.Options{Generate: true, Basic: auth == "basic", NTLM: auth == "ntlm",
				Options: ewsmem.Options{Mailboxes: 2, Servers: 2, Seed: 7, Password: "Passw0rd!"}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sim)
			t.Cleanup(func() { srv.Close(); sim.Close() })
			runClientConformance(t, conformanceTarget{endpoint: srv.URL + "/EWS/Exchange.asmx", autodiscover: srv.URL + "/autodiscover/autodiscover.svc",
				http: authClient(t, auth, sim.ServiceAccount(), "Passw0rd!"), mailbox: "user1@example.com", other: "user2@example.com"})
		})
	}
}

// TestClientConformanceRealExchange runs the same suite against the
// Exchange named by CALSYNC_TEST_EWS_URL and skips without it.
func TestClientConformanceRealExchange(t *testing.T) {
	url := os.Getenv(envURL)
	if url == "" {
		t.Skipf("no real Exchange: set %s, %s, %s and %s (docs/protocol.md)", envURL, envUser, envPassword, envMailboxes)
	}
	mbs := strings.Split(os.Getenv(envMailboxes), ",")
	if len(mbs) != 2 || os.Getenv(envUser) == "" || os.Getenv(envPassword) == "" {
		t.Fatalf("%s is set: %s, %s and %s (two addresses, comma-separated) are needed too", envURL, envUser, envPassword, envMailboxes)
	}
	auth := os.Getenv(envAuth)
	if auth == "" {
		auth = "ntlm"
	}
	base := url[:max(0, strings.LastIndex(strings.ToLower(url), "/ews/"))]
	runClientConformance(t, conformanceTarget{endpoint: url, autodiscover: base + "/autodiscover/autodiscover.svc",
		http: authClient(t, auth, os.Getenv(envUser), os.Getenv(envPassword)), mailbox: strings.TrimSpace(mbs[0]), other: strings.TrimSpace(mbs[1])})
}

func authClient(t *testing.T, auth, user, password string) ewsclient.HTTPClient {
	t.Helper()
	switch auth {
	case "basic":
		return ewsclient.BasicAuth(http.DefaultClient, user, password)
	case "ntlm":
		hc, err := ewsclient.NTLMAuth(&http.Transport{}, user, password)
		if err != nil {
			t.Fatal(err)
		}
		return hc
	}
	t.Fatalf("%s = %q: want basic or ntlm", envAuth, auth)
	return nil
}

// runClientConformance checks what calsync relies on, without ground truth
// (a real server has none): every read operation answers and agrees with
// the others, and one item's life cycle (create, update, delete) shows in
// SyncFolderItems, pull and streaming notifications and free/busy.
func runClientConformance(t *testing.T, tg conformanceTarget) {
	client, err := ewsclient.New(tg.endpoint, &ewsclient.Options{HTTPClient: tg.http, Version: ews.Exchange2016})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	call := ewsclient.Call{ActAs: ews.ImpersonateSMTP(tg.mailbox)}
	now := time.Now().UTC().Truncate(time.Hour)
	start, end := now.Add(-24*time.Hour), now.Add(6*24*time.Hour)

	page, err := client.CalendarView(ctx, call, ewsclient.CalendarViewRequest{Start: start, End: end, MaxEntries: 1000})
	if err != nil {
		t.Fatalf("CalendarView() = %v", err)
	}
	var refs []ews.ItemRef
	for _, it := range page.Items {
		if it.ItemId.Id == "" || it.End.Before(it.Start) || it.End.Before(start) || !it.Start.Before(end) {
			t.Errorf("CalendarView item %q %s–%s (id %q) is not in the window %s–%s", it.Subject, it.Start, it.End, it.ItemId.Id, start, end)
		}
		if len(refs) < 5 {
			refs = append(refs, ews.ItemByID(it.ItemId))
		}
	}
	if len(refs) > 0 {
		items, err := client.GetItem(ctx, call, ewsclient.GetItemRequest{Items: refs})
		if err != nil || ewsclient.JoinErrors(items) != nil {
			t.Fatalf("GetItem() = %v / %v", err, ewsclient.JoinErrors(items))
		}
		for i, r := range items {
			if r.Item.Subject != page.Items[i].Subject || !r.Item.Start.Equal(page.Items[i].Start) {
				t.Errorf("GetItem[%d] = %q at %s; CalendarView said %q at %s", i, r.Item.Subject, r.Item.Start, page.Items[i].Subject, page.Items[i].Start)
			}
		}
	}

	state := syncToEnd(ctx, t, client, call, "")
	pull, err := client.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionPull, Folders: []ews.FolderRef{ews.CalendarFolder()}, TimeoutMinutes: 10})
	if err != nil {
		t.Fatalf("Subscribe(pull) = %v", err)
	}
	stream, err := client.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming, Folders: []ews.FolderRef{ews.CalendarFolder()}})
	if err != nil {
		t.Fatalf("Subscribe(streaming) = %v", err)
	}
	defer func() {
		_ = client.Unsubscribe(context.Background(), call, pull.Id)
		_ = client.Unsubscribe(context.Background(), call, stream.Id)
	}()

	// One item's life cycle, far enough ahead not to disturb anyone, in an
	// hour the mailbox has free: a merged free/busy slot shows the
	// strongest status in it, so an out-of-office block of the mailbox's
	// own (the simulator's generated calendars have them) would hide the
	// created item's busy.
	slot := freeHour(ctx, t, client, tg.mailbox, now.Add(3*24*time.Hour+3*time.Hour))
	created, err := client.CreateItem(ctx, call, ewsclient.CreateItemRequest{Items: []ews.CalendarItem{{Subject: "calsync conformance test",
		Start: slot, End: slot.Add(time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy}}})
	if err != nil || created[0].Err != nil {
		t.Fatalf("CreateItem() = %v / %+v", err, created)
	}
	id := created[0].ItemId
	deleted := false
	defer func() {
		if !deleted {
			_, _ = client.DeleteItem(context.Background(), call, ewsclient.DeleteItemRequest{Items: []ews.ItemRef{ews.ItemByID(id)}})
		}
	}()
	updated, err := client.UpdateItem(ctx, call, ewsclient.UpdateItemRequest{Updates: []ewsclient.ItemUpdate{{Item: ews.ItemByID(id),
		Changes: []ewsclient.FieldChange{ewsclient.SetSubject("calsync conformance test (updated)")}}}})
	if err != nil || updated[0].Err != nil || updated[0].ItemId.Id != id.Id || updated[0].ItemId.ChangeKey == id.ChangeKey {
		t.Fatalf("UpdateItem() = %v / %+v (want the same id with a new ChangeKey)", err, updated)
	}
	id = updated[0].ItemId
	got, err := client.GetItem(ctx, call, ewsclient.GetItemRequest{Items: []ews.ItemRef{ews.ItemByID(id)}})
	if err != nil || ewsclient.JoinErrors(got) != nil || got[0].Item.Subject != "calsync conformance test (updated)" || !got[0].Item.Start.Equal(slot) {
		t.Fatalf("GetItem(created) = %v / %+v", err, got)
	}
	av, err := client.GetUserAvailability(ctx, ewsclient.Call{}, ewsclient.AvailabilityRequest{
		Mailboxes: []ews.MailboxData{{Email: ews.Mailbox{EmailAddress: tg.mailbox}, AttendeeType: ews.AttendeeRequired}, {Email: ews.Mailbox{EmailAddress: tg.other}, AttendeeType: ews.AttendeeRequired}},
		Start:     slot.Add(-time.Hour), End: slot.Add(2 * time.Hour), IntervalMinutes: 60, View: ews.ViewDetailedMerged})
	if err != nil || len(av) != 2 || av[0].Err != nil || len(av[0].View.MergedFreeBusy) != 3 || av[0].View.MergedFreeBusy[1] != '2' {
		t.Errorf("GetUserAvailability() = %v / %+v; want 3 slots with the created item busy in the middle", err, av)
	}
	state, changes := syncChanges(ctx, t, client, call, state)
	if !hasChange(changes, ewsclient.ChangeCreate, id.Id) {
		t.Errorf("SyncFolderItems after CreateItem: %+v, want a Create of %s", changes, id.Id)
	}
	if errs, err := client.DeleteItem(ctx, call, ewsclient.DeleteItemRequest{Items: []ews.ItemRef{ews.ItemByID(id)}}); err != nil || errs[0] != nil {
		t.Fatalf("DeleteItem() = %v / %v", err, errs)
	}
	deleted = true
	if _, changes := syncChanges(ctx, t, client, call, state); !hasChange(changes, ewsclient.ChangeDelete, id.Id) {
		t.Errorf("SyncFolderItems after DeleteItem: %+v, want a Delete of %s", changes, id.Id)
	}

	// Notifications are hints that may lag: poll pull for up to a minute.
	var pulled []ews.Event
	watermark := pull.Watermark
	for deadline := time.Now().Add(time.Minute); !hasEventOf(pulled, ews.EventCreated, id.Id) && time.Now().Before(deadline); {
		n, err := client.GetEvents(ctx, call, pull.Id, watermark)
		if err != nil {
			t.Fatalf("GetEvents() = %v", err)
		}
		pulled = append(pulled, n.Events...)
		if len(n.Events) > 0 {
			watermark = n.Events[len(n.Events)-1].Watermark
		}
		if !n.MoreEvents && !hasEventOf(pulled, ews.EventCreated, id.Id) {
			time.Sleep(time.Second) // a server's pace, not a test wait: GetEvents has no long poll
		}
	}
	if !hasEventOf(pulled, ews.EventCreated, id.Id) {
		t.Errorf("pull events %v lack CreatedEvent of %s", eventKinds(pulled), id.Id)
	}
	st, err := client.GetStreamingEvents(ctx, call, ewsclient.StreamRequest{SubscriptionIds: []string{stream.Id}, ConnectionTimeoutMinutes: 1})
	if err != nil {
		t.Fatalf("GetStreamingEvents() = %v", err)
	}
	defer st.Close()
	var streamed []ews.Event
	for !hasEventOf(streamed, ews.EventCreated, id.Id) {
		b, err := st.Next()
		if err != nil {
			t.Fatalf("Stream.Next() = %v (streamed so far %v)", err, eventKinds(streamed))
		}
		if len(b.Failed) > 0 || b.Status == ews.ConnectionClosed {
			t.Fatalf("stream failed or closed before the CreatedEvent: %+v (streamed so far %v)", b, eventKinds(streamed))
		}
		for _, n := range b.Notifications {
			streamed = append(streamed, n.Events...)
		}
	}

	if _, err := client.GetUserOofSettings(ctx, call, tg.mailbox); err != nil {
		t.Errorf("GetUserOofSettings() = %v", err)
	}
	us, err := client.GetUserSettings(ctx, ewsclient.AutodiscoverRequest{URL: tg.autodiscover, Mailboxes: []string{tg.mailbox}})
	if err != nil || len(us) != 1 || us[0].Settings[ewsclient.SettingGroupingInformation] == "" {
		t.Errorf("GetUserSettings() = %v / %+v; want GroupingInformation", err, us)
	}
}

// freeHour returns the first hour from start (on the hour, up to two days
// on) in which the mailbox's merged free/busy is free, with its
// neighbours inside the two days.
func freeHour(ctx context.Context, t *testing.T, c *ewsclient.Client, mailbox string, start time.Time) time.Time {
	t.Helper()
	av, err := c.GetUserAvailability(ctx, ewsclient.Call{}, ewsclient.AvailabilityRequest{
		Mailboxes: []ews.MailboxData{{Email: ews.Mailbox{EmailAddress: mailbox}, AttendeeType: ews.AttendeeRequired}},
		Start:     start, End: start.Add(48 * time.Hour), IntervalMinutes: 60, View: ews.ViewDetailedMerged})
	if err != nil || len(av) != 1 || av[0].Err != nil {
		t.Fatalf("GetUserAvailability(the next two days of %s) = %v / %+v", mailbox, err, av)
	}
	fb := av[0].View.MergedFreeBusy
	for i := 1; i+1 < len(fb); i++ {
		if fb[i] == '0' {
			return start.Add(time.Duration(i) * time.Hour)
		}
	}
	t.Fatalf("%s has no free hour in the two days from %s (merged free/busy %q)", mailbox, start, fb)
	return time.Time{}
}

func syncToEnd(ctx context.Context, t *testing.T, c *ewsclient.Client, call ewsclient.Call, state string) string {
	t.Helper()
	state, _ = syncChanges(ctx, t, c, call, state)
	return state
}

func syncChanges(ctx context.Context, t *testing.T, c *ewsclient.Client, call ewsclient.Call, state string) (string, []ewsclient.SyncChange) {
	t.Helper()
	var all []ewsclient.SyncChange
	for i := 0; i < 1000; i++ {
		p, err := c.SyncFolderItems(ctx, call, ewsclient.SyncFolderItemsRequest{SyncState: state, MaxChanges: 512})
		if err != nil {
			t.Fatalf("SyncFolderItems() = %v", err)
		}
		all = append(all, p.Changes...)
		state = p.SyncState
		if p.IncludesLastItemInRange {
			return state, all
		}
	}
	t.Fatal("SyncFolderItems never reached the last item")
	return "", nil
}

func hasChange(changes []ewsclient.SyncChange, kind ewsclient.SyncChangeKind, id string) bool {
	for _, c := range changes {
		if c.Kind == kind && c.ItemId.Id == id {
			return true
		}
	}
	return false
}

func hasEventOf(events []ews.Event, kind ews.EventType, id string) bool {
	for _, e := range events {
		if e.Type == kind && e.ItemId != nil && e.ItemId.Id == id {
			return true
		}
	}
	return false
}

func eventKinds(events []ews.Event) []ews.EventType {
	var out []ews.EventType
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}
