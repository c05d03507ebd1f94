package ewsmem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/internal/clock"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) // a Monday

func newExchange(t *testing.T, opts ewsmem.Options) (*ewsmem.Exchange, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(t0)
	opts.Clock = fc
	if opts.Mailboxes == 0 {
		opts.Mailboxes = 3
	}
	x, err := ewsmem.New(opts)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(x.Close)
	return x, fc
}

func svcCaller(x *ewsmem.Exchange, user string) *ewsserver.Caller {
	return &ewsserver.Caller{Account: x.ServiceAccount(), Impersonation: ews.ImpersonateSMTP(user), RequestVersion: ews.Exchange2013SP1, AnchorMailbox: user}
}

func admit(t *testing.T, x *ewsmem.Exchange, c *ewsserver.Caller) {
	t.Helper()
	release, err := x.Admit(context.Background(), c)
	if err != nil {
		t.Fatalf("Admit(%s as %s) = %v", c.Account, c.Mailbox(), err)
	}
	release()
}

func codeOf(err error) ews.ResponseCode {
	c, _ := ews.CodeOf(err)
	return c
}

func TestImpersonationScope(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{ImpersonationScope: []string{"user1@example.com"}})
	ctx := context.Background()
	admit(t, x, svcCaller(x, "user1@example.com"))
	_, err := x.Admit(ctx, svcCaller(x, "user2@example.com"))
	var fault *ews.SOAPFault
	if !asFault(err, &fault) || fault.Code != ews.ErrorImpersonateUserDenied {
		t.Errorf("Admit(out of scope) = %v, want fault ErrorImpersonateUserDenied", err)
	}
	_, err = x.Admit(ctx, svcCaller(x, "nobody@example.com"))
	if codeOf(err) != ews.ErrorNonExistentMailbox {
		t.Errorf("Admit(unknown) = %v, want ErrorNonExistentMailbox", err)
	}
	// The other ConnectingSID forms resolve to the same mailbox.
	sid, _ := x.SIDOf("user1@example.com")
	for _, cs := range []ews.ConnectingSID{{Kind: ews.SIDSecurityID, Value: sid}, {Kind: ews.SIDPrincipalName, Value: "user1@example.com"}, {Kind: ews.SIDSmtpAddress, Value: "USER1@example.com"}} {
		c := &ewsserver.Caller{Account: x.ServiceAccount(), Impersonation: cs}
		admit(t, x, c)
		if c.Mailbox() != "user1@example.com" {
			t.Errorf("%s %s resolved to %s", cs.Kind, cs.Value, c.Mailbox())
		}
	}
	if _, err := x.Admit(ctx, &ewsserver.Caller{Account: x.ServiceAccount(), Impersonation: ews.ConnectingSID{Kind: ews.SIDSecurityID, Value: "S-1-5-21-9-9-9-9"}}); codeOf(err) != ews.ErrorNonExistentMailbox {
		t.Errorf("Admit(unknown SID) = %v", err)
	}
	// Without X-AnchorMailbox some requests fail as proxying Exchange does.
	y, _ := newExchange(t, ewsmem.Options{MissingAnchorFailPercent: 50})
	failures := 0
	for i := 0; i < 10; i++ {
		c := &ewsserver.Caller{Account: y.ServiceAccount(), Impersonation: ews.ImpersonateSMTP("user1@example.com")}
		if release, err := y.Admit(ctx, c); codeOf(err) == ews.ErrorNoRespondingCASInDestinationSite {
			failures++
		} else if err == nil {
			release()
		}
	}
	if failures != 5 {
		t.Errorf("requests without anchor failed %d of 10 times, want 5", failures)
	}
	admit(t, y, svcCaller(y, "user1@example.com"))
	// A user without the role cannot impersonate.
	_, err = x.Admit(ctx, &ewsserver.Caller{Account: "user1@example.com", Impersonation: ews.ImpersonateSMTP("user1@example.com")})
	if codeOf(err) != ews.ErrorImpersonateUserDenied {
		t.Errorf("Admit(user impersonating) = %v, want ErrorImpersonateUserDenied", err)
	}
}

func asFault(err error, f **ews.SOAPFault) bool {
	v, ok := err.(*ews.SOAPFault)
	*f = v
	return ok
}

func TestCalendarViewAndGetItem(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	ctx := context.Background()
	c := svcCaller(x, "user1@example.com")
	master, err := x.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "Daily", StartTimeZone: "W. Europe Standard Time",
		Start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1},
			Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.Date{Year: 2026, Month: 3, Day: 2}, NumberOfOccurrences: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.ModifyOccurrence("user1@example.com", master.Id, 2, ews.CalendarItem{Subject: "Moved", Start: time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 3, 13, 0, 0, 0, time.UTC), LegacyFreeBusyStatus: ews.FreeBusyTentative}); err != nil {
		t.Fatal(err)
	}
	if err := x.DeleteOccurrence("user1@example.com", master.Id, 3); err != nil {
		t.Fatal(err)
	}
	res, err := x.FindItem(ctx, c, ewsserver.FindItemRequest{Folder: ews.CalendarFolder(), CalendarView: &ewsserver.CalendarViewRequest{
		Start: t0, End: t0.AddDate(0, 0, 7)}})
	if err != nil {
		t.Fatalf("FindItem() = %v", err)
	}
	var kinds []string
	for _, it := range res.Items {
		kinds = append(kinds, string(it.CalendarItemType)+":"+it.Subject)
	}
	want := []string{"Occurrence:Daily", "Exception:Moved", "Occurrence:Daily", "Occurrence:Daily"}
	if len(kinds) != len(want) || res.TotalItemsInView != 4 || !res.IncludesLastInRange {
		t.Fatalf("CalendarView = %v (total %d), want %v", kinds, res.TotalItemsInView, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Errorf("item %d = %s, want %s", i, kinds[i], want[i])
		}
	}
	// Truncation.
	res, err = x.FindItem(ctx, c, ewsserver.FindItemRequest{Folder: ews.CalendarFolder(), CalendarView: &ewsserver.CalendarViewRequest{
		Start: t0, End: t0.AddDate(0, 0, 7), MaxEntries: 2, MaxGiven: true}})
	if err != nil || len(res.Items) != 2 || res.IncludesLastInRange || res.TotalItemsInView != 4 {
		t.Errorf("CalendarView(max 2) = %d items, last %v, total %d, err %v", len(res.Items), res.IncludesLastInRange, res.TotalItemsInView, err)
	}
	// GetItem on an occurrence id and on the deleted index.
	got := x.GetItem(ctx, c, []ews.ItemRef{
		ews.ItemByID(res.Items[1].ItemId),
		{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: master.Id, InstanceIndex: 3}},
		{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: master.Id, InstanceIndex: 9}},
		ews.ItemByID(master),
	})
	if got[0].Err != nil || got[0].Item.Subject != "Moved" || got[0].Item.CalendarItemType != ews.ItemTypeException {
		t.Errorf("GetItem(exception) = %+v, %v", got[0].Item, got[0].Err)
	}
	if codeOf(got[1].Err) != ews.ErrorCalendarOccurrenceIsDeletedFromRecurrence {
		t.Errorf("GetItem(deleted occurrence) = %v", got[1].Err)
	}
	if codeOf(got[2].Err) != ews.ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange {
		t.Errorf("GetItem(index 9) = %v", got[2].Err)
	}
	m := got[3].Item
	if got[3].Err != nil || m.CalendarItemType != ews.ItemTypeRecurringMaster || len(m.ModifiedOccurrences) != 1 || len(m.DeletedOccurrences) != 1 || m.LastOccurrence == nil {
		t.Errorf("GetItem(master) = %+v, %v", m, got[3].Err)
	}
	// Errors of the view window.
	_, err = x.FindItem(ctx, c, ewsserver.FindItemRequest{Folder: ews.CalendarFolder(), CalendarView: &ewsserver.CalendarViewRequest{Start: t0, End: t0.AddDate(3, 0, 0)}})
	if codeOf(err) != ews.ErrorCalendarViewRangeTooBig {
		t.Errorf("FindItem(3 years) = %v", err)
	}
}

func TestSyncFolderItems(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	ctx := context.Background()
	c := svcCaller(x, "user2@example.com")
	for i := 0; i < 5; i++ {
		if _, err := x.AddCalendarItem("user2@example.com", ews.CalendarItem{Subject: "x", Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i)*time.Hour + 30*time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	req := ewsserver.SyncRequest{Folder: ews.CalendarFolder(), MaxChanges: 3}
	r1, err := x.SyncFolderItems(ctx, c, req)
	if err != nil || len(r1.Changes) != 3 || r1.IncludesLastInRange {
		t.Fatalf("sync 1 = %d changes, last %v, err %v", len(r1.Changes), r1.IncludesLastInRange, err)
	}
	req.SyncState = r1.SyncState
	r2, err := x.SyncFolderItems(ctx, c, req)
	if err != nil || len(r2.Changes) != 2 || !r2.IncludesLastInRange {
		t.Fatalf("sync 2 = %d changes, last %v, err %v", len(r2.Changes), r2.IncludesLastInRange, err)
	}
	// Update one, delete one, add one.
	first := r1.Changes[0].Item.ItemId
	upd := x.UpdateItem(ctx, c, []ewsserver.ItemChange{{Ref: ews.ItemByID(first), Updates: []ewsserver.FieldUpdate{{FieldURI: "item:Subject", Value: ews.CalendarItem{Subject: "renamed"}}}}}, "AlwaysOverwrite")
	if upd[0].Err != nil || upd[0].Item.ItemId.ChangeKey == first.ChangeKey {
		t.Fatalf("UpdateItem = %+v, change key must change", upd[0])
	}
	stale := x.UpdateItem(ctx, c, []ewsserver.ItemChange{{Ref: ews.ItemByID(first), Updates: []ewsserver.FieldUpdate{{FieldURI: "item:Subject", Value: ews.CalendarItem{Subject: "again"}}}}}, "NeverOverwrite")
	if codeOf(stale[0].Err) != ews.ErrorIrresolvableConflict {
		t.Errorf("UpdateItem(stale key) = %v", stale[0].Err)
	}
	if errs := x.DeleteItem(ctx, c, []ews.ItemRef{ews.ItemByID(r1.Changes[1].Item.ItemId)}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	req.SyncState, req.MaxChanges = r2.SyncState, 512
	r3, err := x.SyncFolderItems(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[ewsserver.SyncChangeKind]int{}
	for _, ch := range r3.Changes {
		kinds[ch.Kind]++
	}
	if kinds[ewsserver.SyncUpdate] != 1 || kinds[ewsserver.SyncDelete] != 1 || len(r3.Changes) != 2 {
		t.Errorf("sync 3 = %v", kinds)
	}
	// Invalid states.
	req.SyncState = "garbage"
	if _, err := x.SyncFolderItems(ctx, c, req); codeOf(err) != ews.ErrorInvalidSyncStateData {
		t.Errorf("sync(garbage) = %v", err)
	}
	req.SyncState = r3.SyncState
	if n := x.InvalidateSyncStates(""); n == 0 {
		t.Fatal("InvalidateSyncStates touched no mailbox")
	}
	if _, err := x.SyncFolderItems(ctx, c, req); codeOf(err) != ews.ErrorInvalidSyncStateData {
		t.Errorf("sync(invalidated) = %v", err)
	}
	other := svcCaller(x, "user3@example.com")
	if _, err := x.SyncFolderItems(ctx, other, ewsserver.SyncRequest{Folder: ews.CalendarFolder(), MaxChanges: 10, SyncState: r3.SyncState}); codeOf(err) != ews.ErrorInvalidSyncStateData {
		t.Errorf("sync(other mailbox's state) = %v", err)
	}
}

func TestPullSubscription(t *testing.T) {
	x, fc := newExchange(t, ewsmem.Options{NoDuplicates: true})
	ctx := context.Background()
	c := svcCaller(x, "user1@example.com")
	sub, err := x.Subscribe(ctx, c, ewsserver.SubscribeRequest{Kind: ews.SubscriptionPull, Folders: []ews.FolderRef{ews.CalendarFolder()},
		EventTypes: []ews.EventType{ews.EventCreated, ews.EventModified, ews.EventDeleted}, Timeout: 5})
	if err != nil {
		t.Fatalf("Subscribe() = %v", err)
	}
	n, err := x.GetEvents(ctx, c, sub.SubscriptionId, sub.Watermark)
	if err != nil || len(n.Events) != 1 || n.Events[0].Type != ews.EventStatus {
		t.Fatalf("GetEvents(idle) = %+v, %v", n, err)
	}
	wm := n.Events[0].Watermark
	for i := 0; i < 60; i++ {
		if _, err := x.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "e", Start: t0, End: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err = x.GetEvents(ctx, c, sub.SubscriptionId, wm)
	if err != nil || len(n.Events) != 50 || !n.MoreEvents || n.PreviousWatermark != wm {
		t.Fatalf("GetEvents = %d events, more %v, err %v", len(n.Events), n.MoreEvents, err)
	}
	// The old watermark is no longer accepted.
	if _, err := x.GetEvents(ctx, c, sub.SubscriptionId, wm); codeOf(err) != ews.ErrorInvalidWatermark {
		t.Errorf("GetEvents(old watermark) = %v", err)
	}
	// Another user may not read it.
	if _, err := x.GetEvents(ctx, svcCaller(x, "user2@example.com"), sub.SubscriptionId, n.Events[49].Watermark); codeOf(err) != ews.ErrorSubscriptionAccessDenied && codeOf(err) != ews.ErrorSubscriptionNotFound {
		t.Errorf("GetEvents(other user) = %v", err)
	}
	n2, err := x.GetEvents(ctx, c, sub.SubscriptionId, n.Events[49].Watermark)
	if err != nil || len(n2.Events) != 10 || n2.MoreEvents {
		t.Fatalf("GetEvents(rest) = %d, more %v, err %v", len(n2.Events), n2.MoreEvents, err)
	}
	// ErrorReadEventsFailed deletes the subscription.
	sub2, err := x.Subscribe(ctx, c, ewsserver.SubscribeRequest{Kind: ews.SubscriptionPull, Folders: []ews.FolderRef{ews.CalendarFolder()},
		EventTypes: []ews.EventType{ews.EventCreated}, Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	if n := x.FailNextGetEvents(); n == 0 {
		t.Fatal("FailNextGetEvents marked no subscription")
	}
	if _, err := x.GetEvents(ctx, c, sub2.SubscriptionId, sub2.Watermark); codeOf(err) != ews.ErrorReadEventsFailed {
		t.Errorf("GetEvents(read failed) = %v", err)
	}
	if _, err := x.GetEvents(ctx, c, sub2.SubscriptionId, sub2.Watermark); codeOf(err) != ews.ErrorSubscriptionNotFound {
		t.Errorf("GetEvents(after read failure) = %v", err)
	}
	fc.Advance(6 * time.Minute)
	if _, err := x.GetEvents(ctx, c, sub.SubscriptionId, n2.Events[9].Watermark); codeOf(err) != ews.ErrorExpiredSubscription {
		t.Errorf("GetEvents(expired) = %v", err)
	}
	if _, err := x.GetEvents(ctx, c, sub.SubscriptionId, n2.Events[9].Watermark); codeOf(err) != ews.ErrorSubscriptionNotFound {
		t.Errorf("GetEvents(after expiry) = %v", err)
	}
}

func TestThrottlingBudget(t *testing.T) {
	p := ewsmem.DefaultPolicy()
	p.MaxBurst, p.CutoffBalance, p.RechargeRate, p.CostPerRequest = 100*time.Millisecond, 100*time.Millisecond, 3600*time.Millisecond, 50*time.Millisecond
	x, fc := newExchange(t, ewsmem.Options{Policy: &p})
	ctx := context.Background()
	c := svcCaller(x, "user1@example.com")
	var busy error
	for i := 0; i < 10 && busy == nil; i++ {
		release, err := x.Admit(ctx, c)
		if err != nil {
			busy = err
			break
		}
		release()
	}
	var f *ews.SOAPFault
	if !asFault(busy, &f) || f.Code != ews.ErrorServerBusy || f.BackOff <= 0 {
		t.Fatalf("Admit after budget = %v, want ErrorServerBusy fault with back-off", busy)
	}
	// Another impersonated user has its own budget copy.
	admit(t, x, svcCaller(x, "user2@example.com"))
	fc.Advance(f.BackOff)
	admit(t, x, c)
	// Concurrency.
	p = ewsmem.DefaultPolicy()
	p.MaxConcurrency = 2
	x.SetPolicy(p)
	r1, _ := x.Admit(ctx, c)
	r2, _ := x.Admit(ctx, c)
	_, err := x.Admit(ctx, c)
	if codeOf(err) != ews.ErrorExceededConnectionCount {
		t.Errorf("third concurrent Admit = %v", err)
	}
	r1()
	r2()
	// IIS queue overflow: HTTP 503 without a SOAP body.
	p = ewsmem.DefaultPolicy()
	p.GlobalQueueLimit = 1
	x.SetPolicy(p)
	r3, _ := x.Admit(ctx, c)
	_, err = x.Admit(ctx, svcCaller(x, "user3@example.com"))
	var he *ews.HTTPError
	if e, ok := err.(*ews.HTTPError); ok {
		he = e
	}
	if he == nil || he.StatusCode != 503 {
		t.Errorf("Admit over the global queue = %v, want HTTP 503", err)
	}
	r3()
	if got := x.Stats().Throttled["ErrorServerBusy"]; got != 1 {
		t.Errorf("stats throttled ErrorServerBusy = %d", got)
	}
}

func TestBatchStopsWhenBudgetRunsOut(t *testing.T) {
	p := ewsmem.DefaultPolicy()
	p.MaxBurst, p.CutoffBalance, p.RechargeRate, p.CostPerRequest = 20*time.Millisecond, 0, time.Millisecond, 10*time.Millisecond
	x, _ := newExchange(t, ewsmem.Options{Policy: &p})
	ctx := context.Background()
	c := svcCaller(x, "user1@example.com")
	var refs []ews.ItemRef
	for i := 0; i < 5; i++ {
		id, err := x.AddCalendarItem("user1@example.com", ews.CalendarItem{Subject: "b", Start: t0, End: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ews.ItemByID(id))
	}
	admit(t, x, c)
	res := x.GetItem(ctx, c, refs)
	var codes []ews.ResponseCode
	for _, r := range res {
		codes = append(codes, codeOf(r.Err))
	}
	want := []ews.ResponseCode{"", "", "", ews.ErrorServerBusy, ews.ErrorBatchProcessingStopped}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("GetItem codes = %v, want %v", codes, want)
		}
	}
	var re *ews.ResponseError
	if e, ok := res[4].Err.(*ews.ResponseError); ok {
		re = e
	}
	if re == nil || re.Class != ews.ClassWarning {
		t.Errorf("stopped item = %v, want a Warning", res[4].Err)
	}
}

func TestSubscriptionLimitAndSweep(t *testing.T) {
	p := ewsmem.DefaultPolicy()
	p.MaxSubscriptions = 2
	x, fc := newExchange(t, ewsmem.Options{Policy: &p})
	ctx := context.Background()
	c := svcCaller(x, "user1@example.com")
	req := ewsserver.SubscribeRequest{Kind: ews.SubscriptionStreaming, Folders: []ews.FolderRef{ews.CalendarFolder()}, EventTypes: []ews.EventType{ews.EventCreated}}
	for i := 0; i < 2; i++ {
		if _, err := x.Subscribe(ctx, c, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.Subscribe(ctx, c, req); codeOf(err) != ews.ErrorExceededSubscriptionCount {
		t.Fatalf("third Subscribe = %v", err)
	}
	// The limit is per target mailbox: another mailbox still subscribes.
	if _, err := x.Subscribe(ctx, svcCaller(x, "user2@example.com"), req); err != nil {
		t.Errorf("Subscribe(user2) = %v", err)
	}
	// Unconnected streaming subscriptions die after the 30-minute TTL.
	fc.Advance(31 * time.Minute)
	if _, err := x.Subscribe(ctx, c, req); err != nil {
		t.Errorf("Subscribe after TTL = %v", err)
	}
}

func TestConcurrentSyncCalls(t *testing.T) {
	p := ewsmem.DefaultPolicy()
	if p.ConcurrentSyncCalls != 5 || p.SyncCallsBackOff != 5*time.Second {
		t.Fatalf("DefaultPolicy() ConcurrentSyncCalls = %d, back-off %s, want 5 and 5s", p.ConcurrentSyncCalls, p.SyncCallsBackOff)
	}
	p.ConcurrentSyncCalls = 2
	x, _ := newExchange(t, ewsmem.Options{Policy: &p})
	ctx := context.Background()
	caller := func(user, op string) *ewsserver.Caller {
		c := svcCaller(x, user)
		c.Operation = op
		return c
	}
	r1, err1 := x.Admit(ctx, caller("user1@example.com", "SyncFolderItems"))
	r2, err2 := x.Admit(ctx, caller("user1@example.com", "SyncFolderHierarchy"))
	if err1 != nil || err2 != nil {
		t.Fatalf("first two sync calls = %v, %v", err1, err2)
	}
	_, err := x.Admit(ctx, caller("user1@example.com", "SyncFolderItems"))
	var re *ews.ResponseError
	if e, ok := err.(*ews.ResponseError); ok {
		re = e
	}
	if re == nil || re.Code != ews.ErrorServerBusy || re.Class != ews.ClassError || re.BackOff != 5*time.Second ||
		re.MessageXml[ews.ValueBackOffMilliseconds] != "5000" || !strings.Contains(re.MessageText, "'ConcurrentSyncCalls', policy value '2'") {
		t.Fatalf("third concurrent sync call = %#v, want a response message ErrorServerBusy with BackOffMilliseconds 5000", err)
	}
	// Other operations of the same budget and sync calls of another
	// impersonated user's budget copy still pass.
	admit(t, x, caller("user1@example.com", "FindItem"))
	admit(t, x, caller("user2@example.com", "SyncFolderItems"))
	// A finished sync call frees its slot.
	r1()
	admit(t, x, caller("user1@example.com", "SyncFolderItems"))
	r2()
	if got := x.Stats().Throttled["ErrorServerBusy"]; got != 1 {
		t.Errorf("stats throttled ErrorServerBusy = %d, want 1", got)
	}
	// Unlimited switches the limit off.
	p.ConcurrentSyncCalls = ewsmem.Unlimited
	x.SetPolicy(p)
	var releases []func()
	for i := 0; i < 10; i++ {
		r, err := x.Admit(ctx, caller("user1@example.com", "SyncFolderItems"))
		if err != nil {
			t.Fatalf("sync call %d with Unlimited = %v", i, err)
		}
		releases = append(releases, r)
	}
	for _, r := range releases {
		r()
	}
}

func TestCalendarViewRestrictionCode(t *testing.T) {
	ctx := context.Background()
	view := &ewsserver.CalendarViewRequest{Start: t0, End: t0.AddDate(0, 0, 7)}
	for _, tt := range []struct {
		opts ewsmem.Options
		want ews.ResponseCode
	}{
		{ewsmem.Options{}, ews.ErrorInvalidRestriction},
		{ewsmem.Options{CalendarViewRestrictionCode: ews.ErrorInvalidOperation}, ews.ErrorInvalidOperation},
	} {
		x, _ := newExchange(t, tt.opts)
		c := svcCaller(x, "user1@example.com")
		for _, req := range []ewsserver.FindItemRequest{
			{Folder: ews.CalendarFolder(), CalendarView: view, HasRestriction: true},
			{Folder: ews.CalendarFolder(), CalendarView: view, HasSortOrder: true},
		} {
			if _, err := x.FindItem(ctx, c, req); codeOf(err) != tt.want {
				t.Errorf("FindItem(CalendarView, restriction %v, sort %v) with %q = %v, want %s", req.HasRestriction, req.HasSortOrder, tt.opts.CalendarViewRestrictionCode, err, tt.want)
			}
		}
		// Without a CalendarView a SortOrder is no error.
		if _, err := x.FindItem(ctx, c, ewsserver.FindItemRequest{Folder: ews.CalendarFolder(), HasSortOrder: true}); err != nil {
			t.Errorf("FindItem(IndexedPageItemView) = %v", err)
		}
	}
}

func TestRootFolderID(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	ctx := context.Background()
	c := svcCaller(x, "user1@example.com")
	res := x.GetFolder(ctx, c, []ews.FolderRef{{Distinguished: &ews.DistinguishedFolderId{Id: ews.FolderRoot}}})
	if res[0].Err != nil {
		t.Fatalf("GetFolder(root) = %v", res[0].Err)
	}
	root := res[0].Folder.FolderId
	again := x.GetFolder(ctx, c, []ews.FolderRef{ews.FolderByID(root)})
	if again[0].Err != nil || again[0].Folder.FolderId.Id != root.Id || !again[0].Folder.ParentFolderId.IsZero() {
		t.Errorf("GetFolder(root id) = %+v, %v, want the root folder", again[0].Folder, again[0].Err)
	}
	view := &ewsserver.CalendarViewRequest{Start: t0, End: t0.AddDate(0, 0, 7)}
	if _, err := x.FindItem(ctx, c, ewsserver.FindItemRequest{Folder: ews.FolderByID(root), CalendarView: view}); codeOf(err) != ews.ErrorCalendarFolderIsInvalidForCalendarView {
		t.Errorf("FindItem(CalendarView on the root id) = %v, want ErrorCalendarFolderIsInvalidForCalendarView", err)
	}
}

// TestAccountConcurrencyCapsAllImpersonations: with AccountConcurrency the
// service account's own EWSMaxConcurrency caps its requests in flight across
// every mailbox it impersonates, as Exchange's service-account budget does;
// without it each impersonated user's budget copy is capped alone.
func TestAccountConcurrencyCapsAllImpersonations(t *testing.T) {
	for _, account := range []bool{false, true} {
		p := ewsmem.DefaultPolicy()
		p.MaxConcurrency, p.AccountConcurrency = 2, account
		x, _ := newExchange(t, ewsmem.Options{Policy: &p})
		ctx := context.Background()
		r1, err1 := x.Admit(ctx, svcCaller(x, "user1@example.com"))
		r2, err2 := x.Admit(ctx, svcCaller(x, "user2@example.com"))
		if err1 != nil || err2 != nil {
			t.Fatalf("AccountConcurrency %v: first two Admits = %v, %v", account, err1, err2)
		}
		r3, err := x.Admit(ctx, svcCaller(x, "user3@example.com"))
		if !account {
			if err != nil {
				t.Errorf("per-user budgets only: third mailbox's Admit = %v, want admitted", err)
			} else {
				r3()
			}
			r1()
			r2()
			continue
		}
		if codeOf(err) != ews.ErrorExceededConnectionCount {
			t.Fatalf("service account at its limit: third mailbox's Admit = %v, want ErrorExceededConnectionCount", err)
		}
		r1()
		r3, err = x.Admit(ctx, svcCaller(x, "user3@example.com"))
		if err != nil {
			t.Fatalf("after one release: Admit = %v, want admitted", err)
		}
		r2()
		r3()
	}
}
