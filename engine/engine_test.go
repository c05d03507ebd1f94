package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

type harness struct {
	t      *testing.T
	fx     *fakeExchange
	st     store.Store
	e      *Engine
	cancel context.CancelFunc
	done   chan error
	opts   Options
}

func testOptions(fx *fakeExchange, st store.Store) Options {
	var logger *slog.Logger
	if os.Getenv("ENGINE_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return Options{
		Store: st, Exchange: fx, Logger: logger,
		CoalesceDelay: 20 * time.Millisecond, ReconcileInterval: -1,
		PullInterval: 20 * time.Millisecond, RegroupDelay: 10 * time.Millisecond,
		RetryBase: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, SlowRetry: time.Hour,
		DiscoverBatchDelay: time.Millisecond, HeartbeatTimeout: time.Hour,
		Budget: BudgetConfig{RequestsPerSecond: -1, ThrottlePause: 5 * time.Millisecond, CredentialPause: 5 * time.Millisecond},
		Seed:   1,
	}
}

func start(t *testing.T, fx *fakeExchange, st store.Store, mailboxes []string, tweak func(*Options)) *harness {
	t.Helper()
	opts := testOptions(fx, st)
	if tweak != nil {
		tweak(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	e.SetMailboxes(mailboxes)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, fx: fx, st: st, e: e, cancel: cancel, done: make(chan error, 1), opts: opts}
	go func() { h.done <- e.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run() = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatalf("Run did not return after cancel")
	}
}

func (h *harness) waitState(smtp, state string) {
	h.t.Helper()
	testenv.WaitFor(h.t, smtp+" in state "+state, func() bool {
		st, err := h.e.Status(smtp)
		return err == nil && st.State == state
	})
}

func (h *harness) stored(smtp string) []calendar.Occurrence {
	occs, err := h.st.Occurrences(context.Background(), smtp, time.Now().Add(-72*time.Hour), time.Now().Add(30*24*time.Hour))
	if err != nil {
		return nil
	}
	return occs
}

func (h *harness) waitSubjects(smtp string, want ...string) {
	h.t.Helper()
	testenv.WaitFor(h.t, fmt.Sprintf("%s to hold %v", smtp, want), func() bool {
		got := h.stored(smtp)
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i].Subject != want[i] {
				return false
			}
		}
		return true
	})
}

// occ builds an occurrence starting h hours from now.
func occ(id, subject string, h int) calendar.Occurrence {
	start := time.Now().UTC().Truncate(time.Hour).Add(time.Duration(h) * time.Hour)
	return calendar.Occurrence{ItemID: id, Subject: subject, Kind: calendar.KindSingle, Start: start, End: start.Add(30 * time.Minute), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal}
}

func TestStreamingLoadAndNotification(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "Standup", 1))
	fx.put("bob@example.org", occ("b1", "Review", 2))
	var changed atomic.Int32
	h := start(t, fx, memstore.New(), []string{"Alice@example.org", "bob@example.org"}, func(o *Options) {
		o.Sink = SinkFuncs{Calendar: func(string) { changed.Add(1) }}
	})
	h.waitSubjects("alice@example.org", "Standup")
	h.waitSubjects("bob@example.org", "Review")
	h.waitState("alice@example.org", StateLive)
	testenv.WaitFor(t, "a stream with both subscriptions", func() bool {
		for _, s := range fx.openStreams() {
			if len(s.ids) == 2 {
				return true
			}
		}
		return false
	})
	fx.put("alice@example.org", occ("a1", "Standup (moved)", 3), occ("a2", "Lunch", 4))
	h.waitSubjects("alice@example.org", "Standup (moved)", "Lunch")
	st, _ := h.e.Status("alice@example.org")
	if st.LastVerified.IsZero() || st.LastEvent.IsZero() || st.Group == "" || st.Connection == "" {
		t.Errorf("Status(alice) = %+v, want LastVerified, LastEvent, Group and Connection set", st)
	}
	// The sink hears of a commit after the store has it: wait for it.
	testenv.WaitFor(t, "Sink.CalendarChanged for two loads and one change", func() bool { return changed.Load() >= 3 })
	// Initial load costs ≤ 3 requests per mailbox plus a share of batched Autodiscover.
	for _, op := range []string{"Subscribe", "OOF"} {
		if n := fx.countFor(op, "bob@example.org"); n != 1 {
			t.Errorf("%s calls for bob = %d, want 1", op, n)
		}
	}
	if n := fx.countFor("CalendarView", "bob@example.org"); n != 1 {
		t.Errorf("CalendarView calls for bob = %d, want 1", n)
	}
}

func TestCoalescingDuplicateEvents(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, func(o *Options) { o.CoalesceDelay = 200 * time.Millisecond })
	h.waitState("alice@example.org", StateLive)
	testenv.WaitFor(t, "stream open", func() bool { return len(fx.openStreams()) == 1 })
	before := fx.countFor("CalendarView", "alice@example.org")
	w := h.e.worker("alice@example.org")
	for range 20 {
		w.hint(time.Now())
	}
	fx.put("alice@example.org", occ("a1", "Two", 1))
	h.waitSubjects("alice@example.org", "Two")
	testenv.WaitFor(t, "worker live again", func() bool {
		st, _ := h.e.Status("alice@example.org")
		return st.State == StateLive
	})
	if got := fx.countFor("CalendarView", "alice@example.org") - before; got != 1 {
		t.Errorf("CalendarView calls after 21 hints = %d, want 1", got)
	}
}

func TestTruncatedViewIsSplit(t *testing.T) {
	fx := newFakeExchange()
	fx.viewMax = 3
	var occs []calendar.Occurrence
	var want []string
	for i := range 10 {
		occs = append(occs, occ(fmt.Sprintf("i%02d", i), fmt.Sprintf("S%02d", i), 1+i*5))
		want = append(want, fmt.Sprintf("S%02d", i))
	}
	fx.put("alice@example.org", occs...)
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, nil)
	h.waitSubjects("alice@example.org", want...)
	if n := fx.countFor("CalendarView", "alice@example.org"); n < 4 {
		t.Errorf("CalendarView calls = %d, want ≥ 4 (window split while truncated)", n)
	}
}

func TestDeniedMailboxDoesNotStopOthers(t *testing.T) {
	fx := newFakeExchange()
	fx.denied["eve@example.org"] = true
	fx.put("alice@example.org", occ("a1", "Standup", 1))
	h := start(t, fx, memstore.New(), []string{"alice@example.org", "eve@example.org"}, nil)
	h.waitState("eve@example.org", StateDenied)
	h.waitSubjects("alice@example.org", "Standup")
	st, _ := h.e.Status("eve@example.org")
	if st.LastError == nil || st.LastError.Code != "ErrorImpersonateUserDenied" || st.LastError.Hint == "" {
		t.Fatalf("Status(eve).LastError = %+v, want ErrorImpersonateUserDenied with a hint", st.LastError)
	}
	rec, err := h.st.Mailbox(context.Background(), "eve@example.org")
	if err != nil || rec.Status.State != StateDenied {
		t.Errorf("stored status of eve = %+v, %v; want state denied persisted", rec.Status, err)
	}
	// SyncNow retries at once and reports the failure.
	if err := h.e.SyncNow(context.Background(), "eve@example.org"); ErrorCode(err) != "ErrorImpersonateUserDenied" {
		t.Errorf("SyncNow(eve) = %v, want ErrorImpersonateUserDenied", err)
	}
}

func TestGroupingAndAffinity(t *testing.T) {
	fx := newFakeExchange()
	var names []string
	for i := range 450 {
		n := fmt.Sprintf("u%03d@example.org", i)
		names = append(names, n)
		if i%2 == 0 {
			fx.grouping[n] = "siteA"
		} else {
			fx.grouping[n] = "siteB"
		}
	}
	// The last 20 Subscribes of each group wait until the test has seen a
	// connection of each group open: a regroup then certainly ran while
	// members were still subscribing, with 205 ids of the group to stream.
	const free = 205
	var subMu sync.Mutex
	subscribes := map[string]int{} // grouping → Subscribe calls
	released := make(chan struct{})
	fx.setFail(func(op, smtp string) error {
		if op != "Subscribe" {
			return nil
		}
		subMu.Lock()
		subscribes[fx.grouping[smtp]]++
		held := subscribes[fx.grouping[smtp]] > free
		subMu.Unlock()
		if held {
			<-released
		}
		return nil
	})
	h := start(t, fx, memstore.New(), names, func(o *Options) {
		// Room for the 40 held Subscribes besides the load's requests.
		o.Budget.Concurrency, o.Budget.PerServer = 64, 64
		// Partial connections are held for up to 30 s (60×): longer than
		// the load takes on a busy machine, where 3 s were not.
		o.RegroupDelay = 500 * time.Millisecond
	})
	release := sync.OnceFunc(func() { close(released) })
	t.Cleanup(release) // before the engine's stop (cleanups run last first)
	testenv.WaitFor(t, "a connection of each group open while members still subscribe", func() bool {
		gs := h.e.Groups()
		open := 0
		for _, g := range gs {
			for _, c := range g.Connections {
				if c.State == "open" {
					open++
					break
				}
			}
		}
		return len(gs) == 2 && open == 2
	})
	release()
	testenv.WaitFor(t, "all subscriptions streamed on ≤ ceil(n/200) connections per group", func() bool {
		gs := h.e.Groups()
		if len(gs) != 2 {
			return false
		}
		for _, g := range gs {
			total := 0
			for _, c := range g.Connections {
				if c.State != "open" {
					return false
				}
				total += c.Subscriptions
			}
			if total != 225 || len(g.Connections) != 2 {
				return false
			}
		}
		return true
	})
	// While members were still subscribing only full connections opened:
	// every connection opened exactly once.
	if n := fx.count("OpenStream"); n != 4 {
		t.Errorf("OpenStream calls = %d, want 4 (each connection opened once with its final set)", n)
	}
	anchors := map[string]string{} // grouping → anchor
	for _, g := range h.e.Groups() {
		if fx.grouping[g.Anchor] != g.GroupingInformation || !g.HasCookie {
			t.Errorf("group %s anchor = %q (cookie %v), want one of its members with a cookie", g.Key, g.Anchor, g.HasCookie)
		}
		anchors[g.GroupingInformation] = g.Anchor
		for _, c := range g.Connections {
			if c.Subscriptions > 200 {
				t.Errorf("connection %s carries %d subscriptions, want ≤ 200", c.Name, c.Subscriptions)
			}
		}
	}
	// As Microsoft describes: each group's first Subscribe is its anchor's,
	// without a cookie; every member's carries the anchor's cookie.
	fx.mu.Lock()
	defer fx.mu.Unlock()
	seen := map[string]bool{}
	for _, tg := range fx.targets {
		grouping := fx.grouping[tg.SMTP]
		anchor := anchors[grouping]
		if !tg.Affinity || tg.Anchor != anchor {
			t.Fatalf("Subscribe target %+v, want affinity with the group's anchor %s", tg, anchor)
		}
		if !seen[grouping] && tg.SMTP != anchor {
			t.Errorf("first Subscribe of group %s is %s's, want the anchor %s's", grouping, tg.SMTP, anchor)
		}
		seen[grouping] = true
		if tg.SMTP == anchor && tg.Cookie != "" {
			t.Errorf("anchor %s subscribed with a cookie, want none (its answer names the server)", tg.SMTP)
		}
		if tg.SMTP != anchor && tg.Cookie != fx.cookie {
			t.Errorf("member %s subscribed with cookie %q, want the anchor's %q", tg.SMTP, tg.Cookie, fx.cookie)
		}
	}
}

func TestSubscriptionLossResubscribesAndRereads(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, nil)
	h.waitState("alice@example.org", StateLive)
	testenv.WaitFor(t, "stream open", func() bool { return len(fx.openStreams()) == 1 })
	// Exchange restarts: subscriptions vanish, a change happens meanwhile.
	fx.mu.Lock()
	fx.items["alice@example.org"] = []calendar.Occurrence{occ("a1", "Changed during restart", 1)}
	fx.mu.Unlock()
	fx.restart()
	h.waitSubjects("alice@example.org", "Changed during restart")
	testenv.WaitFor(t, "second subscription", func() bool { return fx.countFor("Subscribe", "alice@example.org") == 2 })
	testenv.WaitFor(t, "stream re-opened with the new subscription", func() bool {
		for _, s := range fx.openStreams() {
			fx.mu.Lock()
			_, ok := fx.subs[s.ids[0]]
			fx.mu.Unlock()
			if ok {
				return true
			}
		}
		return false
	})
}

func TestStreamCutIsReverified(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, nil)
	h.waitState("alice@example.org", StateLive)
	testenv.WaitFor(t, "stream open", func() bool { return len(fx.openStreams()) == 1 })
	// The change's notification is lost with the connection.
	fx.mu.Lock()
	fx.items["alice@example.org"] = []calendar.Occurrence{occ("a1", "Lost event", 1)}
	fx.mu.Unlock()
	fx.openStreams()[0].cut()
	h.waitSubjects("alice@example.org", "Lost event")
	if n := fx.countFor("Subscribe", "alice@example.org"); n != 1 {
		t.Errorf("Subscribe calls = %d, want 1 (the subscription survives a cut)", n)
	}
}

func TestSilentStreamIsReplaced(t *testing.T) {
	fx := newFakeExchange()
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, func(o *Options) { o.HeartbeatTimeout = 50 * time.Millisecond })
	h.waitState("alice@example.org", StateLive)
	testenv.WaitFor(t, "three stream opens (silence detected twice)", func() bool { return fx.count("OpenStream") >= 3 })
}

// TestPullEventsSurviveAFailedFollowUp: a GetEvents answer with events and
// MoreEvents, followed by a GetEvents that fails, must still lead to a
// re-read — the events left the server's queue with the first answer.
func TestPullEventsSurviveAFailedFollowUp(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, func(o *Options) { o.Mode = Pull })
	h.waitSubjects("alice@example.org", "One")

	var armed, failNext atomic.Bool
	fx.mu.Lock()
	fx.more = true
	fx.mu.Unlock()
	fx.setFail(func(op, smtp string) error {
		if op != "GetEvents" || !armed.Load() {
			return nil
		}
		if failNext.CompareAndSwap(true, false) {
			armed.Store(false)
			return errors.New("connection reset by peer")
		}
		failNext.Store(true) // this call drains the queue; the next one fails
		return nil
	})
	fx.put("alice@example.org", occ("a1", "Two", 1))
	armed.Store(true)
	h.waitSubjects("alice@example.org", "Two")
}

func TestPullModeAndResume(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "One", 1))
	st := memstore.New()
	h := start(t, fx, st, []string{"alice@example.org"}, func(o *Options) { o.Mode = Pull })
	h.waitSubjects("alice@example.org", "One")
	fx.put("alice@example.org", occ("a1", "Two", 1))
	h.waitSubjects("alice@example.org", "Two")
	testenv.WaitFor(t, "watermark persisted", func() bool {
		rec, err := st.Mailbox(context.Background(), "alice@example.org")
		return err == nil && rec.Checkpoint.Watermark != "" && rec.Checkpoint.Watermark != "0" && rec.Checkpoint.NotificationMode == "pull"
	})
	h.stop()
	views := fx.countFor("CalendarView", "alice@example.org")
	// Restart over the same store: the pull subscription is reused, no reload.
	h2 := start(t, fx, st, []string{"alice@example.org"}, func(o *Options) { o.Mode = Pull })
	h2.waitState("alice@example.org", StateLive)
	testenv.WaitFor(t, "a poll with the stored watermark", func() bool { return fx.countFor("GetEvents", "alice@example.org") > 3 })
	if got := fx.countFor("Subscribe", "alice@example.org"); got != 1 {
		t.Errorf("Subscribe calls after restart = %d, want 1 (resumed)", got)
	}
	if got := fx.countFor("CalendarView", "alice@example.org"); got != views {
		t.Errorf("CalendarView calls after restart = %d, want %d (no reload)", got, views)
	}
	fx.put("alice@example.org", occ("a1", "Three", 1))
	h2.waitSubjects("alice@example.org", "Three")
}

func TestSetMailboxesAtRuntime(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "A", 1))
	fx.put("bob@example.org", occ("b1", "B", 1))
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, nil)
	h.waitState("alice@example.org", StateLive)
	h.e.SetMailboxes([]string{"bob@example.org"})
	h.waitSubjects("bob@example.org", "B")
	if _, err := h.e.Status("alice@example.org"); !errors.Is(err, ErrUnknownMailbox) {
		t.Errorf("Status(alice) after removal error = %v, want ErrUnknownMailbox", err)
	}
	testenv.WaitFor(t, "alice unsubscribed", func() bool { return fx.countFor("Unsubscribe", "alice@example.org") == 1 })
	// A removed user leaves no calendar data in the store.
	testenv.WaitFor(t, "alice's stored data deleted", func() bool {
		_, err := h.st.Mailbox(context.Background(), "alice@example.org")
		return errors.Is(err, store.ErrNotFound)
	})
	if occs, _ := h.st.Occurrences(context.Background(), "alice@example.org", time.Time{}, time.Now().AddDate(1, 0, 0)); len(occs) != 0 {
		t.Errorf("alice's occurrences still stored after removal: %d", len(occs))
	}
	if err := h.e.SyncNow(context.Background(), "bob@example.org"); err != nil {
		t.Errorf("SyncNow(bob) = %v, want nil", err)
	}
	if err := h.e.SyncNow(context.Background(), "alice@example.org"); !errors.Is(err, ErrUnknownMailbox) {
		t.Errorf("SyncNow(alice) = %v, want ErrUnknownMailbox", err)
	}
}

func TestWorkerPanicIsRecovered(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "A", 1))
	var panicked atomic.Bool
	fx.setFail(func(op, smtp string) error {
		if op == "CalendarView" && panicked.CompareAndSwap(false, true) {
			panic("boom")
		}
		return nil
	})
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, nil)
	h.waitSubjects("alice@example.org", "A")
	st, _ := h.e.Status("alice@example.org")
	if st.LastError == nil || st.LastError.Code != "InternalError" {
		t.Errorf("LastError = %+v, want InternalError recorded", st.LastError)
	}
}

func TestTransientErrorsBackOffAndRecover(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "A", 1))
	var n atomic.Int32
	fx.setFail(func(op, smtp string) error {
		if op == "CalendarView" && n.Add(1) <= 3 {
			return &ExchangeError{Code: "ErrorServerBusy", BackOff: 10 * time.Millisecond}
		}
		return nil
	})
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, nil)
	h.waitSubjects("alice@example.org", "A")
	h.waitState("alice@example.org", StateLive)
}

func TestOptionsValidation(t *testing.T) {
	fx := newFakeExchange()
	tests := []struct {
		name  string
		tweak func(*Options)
	}{
		{"no store", func(o *Options) { o.Store = nil }},
		{"no exchange", func(o *Options) { o.Exchange = nil }},
		{"bad mode", func(o *Options) { o.Mode = "push" }},
		{"stream timeout too long", func(o *Options) { o.StreamTimeout = time.Hour }},
		{"negative window", func(o *Options) { o.Window.DaysBefore = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(fx, memstore.New())
			tc.tweak(&o)
			if _, err := New(o); err == nil {
				t.Errorf("New() error = nil, want an error")
			}
		})
	}
}

func TestWindowRollsAtLocalMidnight(t *testing.T) {
	fx := newFakeExchange()
	clk := clock.NewFake(time.Date(2026, 3, 10, 23, 58, 0, 0, time.UTC))
	st := memstore.New()
	h := start(t, fx, st, []string{"alice@example.org"}, func(o *Options) {
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = time.Hour
		o.DiscoverBatchDelay = -1
		o.Window = WindowConfig{DaysBefore: 1, DaysAfter: 14}
	})
	h.waitState("alice@example.org", StateLive)
	window := func() calendar.Window {
		rec, err := st.Mailbox(context.Background(), "alice@example.org")
		if err != nil {
			return calendar.Window{}
		}
		return rec.Checkpoint.Window
	}
	if got, want := window().Start, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("window start before midnight = %s, want %s", got, want)
	}
	// Midnight plus the roll jitter (≤ 5 min): the window moves by a day.
	testenv.WaitFor(t, "the roll timer to be armed", func() bool { return clk.PendingTimers() >= 1 })
	clk.Advance(8 * time.Minute)
	testenv.WaitFor(t, "the window to roll", func() bool {
		return window().Start.Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	})
	if got, want := window().End, time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("window end after roll = %s, want %s", got, want)
	}
}

func TestOOFRefreshWithoutCalendarRead(t *testing.T) {
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "A", 1))
	st := memstore.New()
	var changed atomic.Int32
	h := start(t, fx, st, []string{"alice@example.org"}, func(o *Options) {
		o.OOFInterval = 30 * time.Millisecond
		o.Sink = SinkFuncs{Calendar: func(string) { changed.Add(1) }}
	})
	h.waitState("alice@example.org", StateLive)
	views := fx.countFor("CalendarView", "alice@example.org")
	before := changed.Load()
	fx.setOOF(calendar.OOFEnabled)
	testenv.WaitFor(t, "automatic replies stored as enabled", func() bool {
		rec, err := st.Mailbox(context.Background(), "alice@example.org")
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	testenv.WaitFor(t, "Sink.CalendarChanged for the OOF change", func() bool { return changed.Load() > before })
	if got := fx.countFor("CalendarView", "alice@example.org"); got != views {
		t.Errorf("CalendarView calls = %d, want %d (OOF refresh reads only OOF)", got, views)
	}
}

// TestPullWatermarkWaitsForTheHintedRead: a poll that takes events off the
// queue schedules a coalesced re-read; a later poll (only status events)
// must not store the newer watermark before that read committed, or a
// restart in between resumes past the events without reading.
func TestPullWatermarkWaitsForTheHintedRead(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "One", 1))
	st := memstore.New()
	h := start(t, fx, st, []string{alice}, func(o *Options) {
		o.Mode = Pull
		o.CoalesceDelay = time.Hour // the re-read never comes before the stop
	})
	h.waitSubjects(alice, "One")
	h.waitState(alice, StateLive)
	fx.put(alice, occ("a1", "Two", 1))
	testenv.WaitFor(t, "the event taken off the queue", func() bool { return fx.queued(alice) == 0 })
	polls := fx.countFor("GetEvents", alice)
	testenv.WaitFor(t, "two more polls", func() bool { return fx.countFor("GetEvents", alice) >= polls+2 })
	h.stop()

	h2 := start(t, fx, st, []string{alice}, func(o *Options) { o.Mode = Pull })
	h2.waitSubjects(alice, "Two")
}

// TestPullResumeStillRollsTheWindow: a pull worker that resumes its stored
// checkpoint without a read must still move the window at local midnight
// (reconciliation is off, so nothing else would read it).
func TestPullResumeStillRollsTheWindow(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	clk := clock.NewFake(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	st := memstore.New()
	tweak := func(o *Options) {
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = time.Hour
		o.DiscoverBatchDelay = -1
		o.Window = WindowConfig{DaysBefore: 1, DaysAfter: 14}
	}
	window := func() calendar.Window {
		rec, err := st.Mailbox(context.Background(), alice)
		if err != nil {
			return calendar.Window{}
		}
		return rec.Checkpoint.Window
	}
	h := start(t, fx, st, []string{alice}, tweak)
	h.waitState(alice, StateLive)
	if got, want := window().Start, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("window start = %s, want %s", got, want)
	}
	h.stop()

	polls := fx.countFor("GetEvents", alice)
	h2 := start(t, fx, st, []string{alice}, tweak)
	h2.waitState(alice, StateLive)
	testenv.WaitFor(t, "the resumed poll and the next timer", func() bool {
		return fx.countFor("GetEvents", alice) > polls && clk.PendingTimers() >= 1
	})
	clk.Advance(12*time.Hour + 8*time.Minute) // past midnight and the roll jitter
	testenv.WaitFor(t, "the window to roll", func() bool {
		return window().Start.Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	})
}

// TestStreamSurvivesADeniedFirstMember: a streaming connection
// impersonates its first member. When Exchange stops accepting that
// impersonation (the user left the management scope, the mailbox was
// deleted), the connection must not retry with it forever: the member is
// dropped (its worker finds out it is denied) and the others keep
// streaming.
func TestStreamSurvivesADeniedFirstMember(t *testing.T) {
	const alice, bob, carol = "alice@example.org", "bob@example.org", "carol@example.org"
	fx := newFakeExchange()
	fx.put(bob, occ("b1", "One", 1))
	h := start(t, fx, memstore.New(), []string{alice, bob, carol}, nil)
	h.waitSubjects(bob, "One")
	testenv.WaitFor(t, "one stream with all three", func() bool { return fx.streamWith(alice, bob, carol) })
	fx.deny(alice)
	for _, s := range fx.openStreams() {
		s.cut()
	}
	h.waitState(alice, StateDenied)
	testenv.WaitFor(t, "a stream with bob and carol", func() bool { return fx.streamWith(bob, carol) })
	fx.put(bob, occ("b1", "Two", 1))
	h.waitSubjects(bob, "Two")
}

// TestSyncNowWaitsForAReadThatStartsAfterIt: SyncNow promises a re-read
// after the call; a read that was already running when SyncNow came (and
// so may have missed a change made just before the call) must not answer
// it.
func TestSyncNowWaitsForAReadThatStartsAfterIt(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{alice}, func(o *Options) { o.CoalesceDelay = time.Hour })
	h.waitSubjects(alice, "One")
	h.waitState(alice, StateLive)

	// The next two views of alice stall after taking their snapshot.
	entered := []chan struct{}{make(chan struct{}), make(chan struct{})}
	release := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var n atomic.Int32
	var releaseOnce [2]sync.Once
	free := func(i int) { releaseOnce[i].Do(func() { close(release[i]) }) }
	defer free(1) // before the harness stops, also on failure
	fx.mu.Lock()
	fx.afterView = func(smtp string) {
		if i := int(n.Add(1)) - 1; smtp == alice && i < 2 {
			close(entered[i])
			<-release[i]
		}
	}
	fx.mu.Unlock()
	w := h.e.worker(alice)
	w.notify(trigVerify) // a read that snapshots "One" and stalls
	<-entered[0]
	fx.mu.Lock()
	fx.items[alice] = []calendar.Occurrence{occ("a1", "Two", 1)}
	fx.mu.Unlock()
	reply := make(chan error, 1)
	w.requestSync(reply) // what SyncNow does
	free(0)
	<-entered[1] // the read after the request
	select {
	case err := <-reply:
		t.Fatalf("SyncNow answered (%v) by the read that began before it; the store holds %+v", err, h.stored(alice))
	default:
	}
	free(1)
	if err := <-reply; err != nil {
		t.Fatalf("SyncNow() = %v", err)
	}
	if got := h.stored(alice); len(got) != 1 || got[0].Subject != "Two" {
		t.Fatalf("after SyncNow the store holds %+v, want the change made before the call (Two)", got)
	}
}

// TestDiscovererSurvivesAPanic: a panic while serving an Autodiscover batch
// (a hostile or broken answer) must not end the batching goroutine, or
// every later lookup — at start, after each subscription loss — would
// wait forever.
func TestDiscovererSurvivesAPanic(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "One", 1))
	var panicked atomic.Bool
	fx.setFail(func(op, smtp string) error {
		if op == "Discover" && panicked.CompareAndSwap(false, true) {
			panic("autodiscover parser blew up")
		}
		return nil
	})
	h := start(t, fx, memstore.New(), []string{alice}, nil)
	h.waitSubjects(alice, "One")
	h.waitState(alice, StateLive)
}

// TestStreamSurvivesAPanic: a panic while reading a streaming connection
// (a parser blowing up on a hostile envelope) must not leave the
// connection dead with its members believed live: it reconnects and its
// members re-read.
func TestStreamSurvivesAPanic(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{alice}, nil)
	h.waitSubjects(alice, "One")
	testenv.WaitFor(t, "a stream with alice", func() bool { return fx.streamWith(alice) })
	fx.streamPanic.Store(true)
	fx.put(alice, occ("a1", "Two", 1)) // its notification blows up the reader
	h.waitSubjects(alice, "Two")
	fx.put(alice, occ("a1", "Three", 1))
	h.waitSubjects(alice, "Three")
}

// TestShortStreamTimeoutRenewsInTime: connection_timeout may be set to one
// minute; with the default StreamRenewBefore (1 min) the renewal was due
// the moment a connection opened, so every connection reopened at once in
// a loop — each reopening re-reading all its members (26,661 OpenStream and
// 21,825 CalendarView in 300 ms for one mailbox) — and notifications only
// got through by chance.
func TestShortStreamTimeoutRenewsInTime(t *testing.T) {
	for _, timeout := range []time.Duration{time.Minute, 2 * time.Minute, 30 * time.Minute} {
		o := testOptions(newFakeExchange(), memstore.New())
		o.StreamTimeout = timeout
		e, err := New(o)
		if err != nil {
			t.Fatalf("New(StreamTimeout %s) error = %v", timeout, err)
		}
		renewAfter := e.opts.StreamTimeout - e.opts.StreamRenewBefore
		if renewAfter < timeout/2 || renewAfter >= timeout {
			t.Errorf("StreamTimeout %s: connections renew after %s, want in [%s, %s)", timeout, renewAfter, timeout/2, timeout)
		}
	}
}

// TestResubscribeDuringAnAutodiscoverOutage: a lost subscription is
// re-Autodiscovered before resubscribing (the mailbox may have moved). When
// Autodiscover — a separate service — is down at that moment, the worker
// must resubscribe with the routing it knows instead of waiting for
// Autodiscover, without notifications or reads all that time.
func TestResubscribeDuringAnAutodiscoverOutage(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{alice}, nil)
	h.waitSubjects(alice, "One")
	testenv.WaitFor(t, "a stream with alice", func() bool { return fx.streamWith(alice) })
	fx.setFail(func(op, smtp string) error {
		if op == "Discover" {
			return errors.New("dial tcp autodiscover.example.org:443: connection refused")
		}
		return nil
	})
	fx.mu.Lock()
	fx.items[alice] = []calendar.Occurrence{occ("a1", "Two", 1)}
	fx.mu.Unlock()
	fx.restart() // Exchange restarted: the subscription is gone
	h.waitSubjects(alice, "Two")
	testenv.WaitFor(t, "a stream with the new subscription", func() bool { return fx.streamWith(alice) })
	fx.put(alice, occ("a1", "Three", 1))
	h.waitSubjects(alice, "Three")
}

// TestReAddedMailboxWaitsForEveryStoppingWorker: each mailbox has a single
// writer — a new worker waits for the previous one to finish. Remove and
// Add may be called concurrently: when a worker that was still waiting for
// its predecessor is removed again, a worker added after it must still not
// start before that predecessor finished; otherwise the predecessor's
// removal (unsubscribe, delete the stored data) runs after the new worker
// loaded the mailbox and wipes it.
func TestReAddedMailboxWaitsForEveryStoppingWorker(t *testing.T) {
	const alice = "alice@example.org"
	fx := newFakeExchange()
	fx.put(alice, occ("a1", "A", 1))
	var logs testenv.SyncBuffer
	h := start(t, fx, memstore.New(), []string{alice}, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.waitSubjects(alice, "A")
	h.waitState(alice, StateLive)

	entered, release := make(chan struct{}), make(chan struct{})
	var once, freeOnce sync.Once
	free := func() { freeOnce.Do(func() { close(release) }) }
	defer free()
	fx.setFail(func(op, smtp string) error {
		if op == "Unsubscribe" && smtp == alice {
			once.Do(func() { close(entered) })
			<-release // the first worker's removal stalls
		}
		return nil
	})

	removed1 := make(chan struct{})
	go func() { h.e.Remove(alice); close(removed1) }() // worker 1 stops; its removal stalls in Unsubscribe
	<-entered
	h.e.Add(alice) // worker 2 waits for worker 1
	removed2 := make(chan struct{})
	go func() { h.e.Remove(alice); close(removed2) }() // worker 2 stops before it started
	testenv.WaitFor(t, "the second Remove to return or to wait for worker 1", func() bool {
		select {
		case <-removed2:
			return true
		default:
			return strings.Contains(logs.String(), "stopped before it started")
		}
	})
	h.e.Add(alice) // worker 3
	testenv.WaitFor(t, "worker 3 to load alice or to wait for its predecessors", func() bool {
		return len(h.stored(alice)) > 0 || strings.Count(logs.String(), "waiting for the previous worker") >= 2
	})
	free()     // worker 1 finishes its removal: unsubscribe, delete the stored data
	<-removed1 // worker 1 finished
	h.waitSubjects(alice, "A")
	h.waitState(alice, StateLive)
}

// TestDeniedAnchorHandsOver: members wait for their group's anchor to
// subscribe; an anchor Exchange refuses hands the role on at once, so the
// members do not wait out the hold (60 × RegroupDelay = 10 min here).
func TestDeniedAnchorHandsOver(t *testing.T) {
	fx := newFakeExchange()
	names := []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org"}
	for _, n := range names[:3] {
		fx.denied[n] = true
	}
	h := start(t, fx, memstore.New(), names, func(o *Options) { o.RegroupDelay = 10 * time.Second })
	h.waitState("d@example.org", StateLive)
	for _, g := range h.e.Groups() {
		if g.Anchor != "d@example.org" || !g.HasCookie {
			t.Errorf("group %s anchor = %q (cookie %v), want d@example.org, the one member that may subscribe", g.Key, g.Anchor, g.HasCookie)
		}
	}
}
