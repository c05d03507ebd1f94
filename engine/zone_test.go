package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// zoneExchange adds mailbox time zones (ZoneReader) to the fake.
type zoneExchange struct {
	*fakeExchange
	zmu   sync.Mutex
	zones map[string]string
	fail  error
}

func (z *zoneExchange) MailboxTimeZone(ctx context.Context, t Target) (string, error) {
	if err := z.enter("MailboxTimeZone", t.SMTP); err != nil {
		return "", err
	}
	defer z.leave()
	z.zmu.Lock()
	defer z.zmu.Unlock()
	return z.zones[t.SMTP], z.fail
}

func (z *zoneExchange) setZone(smtp, zone string) {
	z.zmu.Lock()
	defer z.zmu.Unlock()
	z.zones[smtp] = zone
}

// A mailbox in New York served by an instance whose default zone is UTC:
// its window follows New York's midnights, across the change to daylight
// saving time (8 March 2026: the midnight of 9 March is 04:00 UTC, not
// 05:00), and its status names the zone; a mailbox without a zone of its
// own has none in its status (the default is not a learnt zone).
func TestWindowFollowsTheMailboxZoneAcrossDST(t *testing.T) {
	const ny, plain = "ny@example.org", "plain@example.org"
	fx := &zoneExchange{fakeExchange: newFakeExchange(), zones: map[string]string{ny: "America/New_York"}}
	clk := clock.NewFake(time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)) // 08:00 EDT on the day of the change
	st := memstore.New()
	h := start(t, fx.fakeExchange, st, []string{ny, plain}, func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = time.Hour
		o.DiscoverBatchDelay = -1
		o.Window = WindowConfig{DaysBefore: 1, DaysAfter: 14, DefaultTimeZone: time.UTC}
	})
	h.waitState(ny, StateLive)
	h.waitState(plain, StateLive)
	window := func(smtp string) calendar.Window {
		rec, err := st.Mailbox(context.Background(), smtp)
		if err != nil {
			return calendar.Window{}
		}
		return rec.Checkpoint.Window
	}
	// 7 March 00:00 EST = 05:00 UTC; 23 March 00:00 EDT = 04:00 UTC.
	if got, want := window(ny), (calendar.Window{Start: time.Date(2026, 3, 7, 5, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 23, 4, 0, 0, 0, time.UTC)}); got != want {
		t.Fatalf("New York window = %v, want %v", got, want)
	}
	if got := window(plain).Start; !got.Equal(time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("default-zone window start = %s, want UTC midnight", got)
	}
	if s, _ := h.e.Status(ny); s.TimeZone != "America/New_York" {
		t.Errorf("New York status zone = %q", s.TimeZone)
	}
	if s, _ := h.e.Status(plain); s.TimeZone != "" {
		t.Errorf("status zone of a mailbox without one = %q, want empty (unknown), not the default", s.TimeZone)
	}

	// The next local midnight is 9 March 00:00 EDT = 04:00 UTC (plus the
	// roll jitter of at most 5 minutes).
	testenv.WaitFor(t, "both workers waiting for their roll", func() bool { return len(h.dueTimes()) == 2 })
	clk.Set(time.Date(2026, 3, 9, 4, 6, 0, 0, time.UTC))
	testenv.WaitFor(t, "the New York window to roll at its midnight", func() bool {
		return window(ny).Start.Equal(time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC))
	})
}

// The zone is read again at reconciliation: a user who moved to Berlin
// gets Berlin's window and the sink hears of it; a failed read keeps the
// zone known and does not fail the mailbox.
func TestZoneIsReadAgainAtReconciliation(t *testing.T) {
	const alice = "alice@example.org"
	fx := &zoneExchange{fakeExchange: newFakeExchange(), zones: map[string]string{alice: "America/New_York"}}
	st := memstore.New()
	var changed atomic.Int32
	h := start(t, fx.fakeExchange, st, []string{alice}, func(o *Options) {
		o.Exchange = fx
		o.ReconcileInterval = 30 * time.Millisecond
		o.Sink = SinkFuncs{Calendar: func(string) { changed.Add(1) }}
	})
	h.waitState(alice, StateLive)
	zone := func() string { s, _ := h.e.Status(alice); return s.TimeZone }
	if zone() != "America/New_York" {
		t.Fatalf("zone = %q", zone())
	}
	fx.zmu.Lock()
	fx.fail = errors.New("network down")
	fx.zmu.Unlock()
	reads := fx.countFor("MailboxTimeZone", alice)
	testenv.WaitFor(t, "a failed zone read at reconciliation", func() bool { return fx.countFor("MailboxTimeZone", alice) > reads })
	if zone() != "America/New_York" {
		t.Errorf("zone after a failed read = %q, want the known one", zone())
	}
	fx.zmu.Lock()
	fx.fail = nil
	fx.zmu.Unlock()
	before := changed.Load()
	fx.setZone(alice, "Europe/Berlin")
	testenv.WaitFor(t, "the new zone", func() bool { return zone() == "Europe/Berlin" })
	testenv.WaitFor(t, "Sink.CalendarChanged for the new zone", func() bool { return changed.Load() > before })
	testenv.WaitFor(t, "the stored status to carry the new zone", func() bool {
		rec, err := st.Mailbox(context.Background(), alice)
		return err == nil && rec.Status.TimeZone == "Europe/Berlin"
	})
	if s, _ := h.e.Status(alice); s.ConsecutiveFailures != 0 || s.LastError != nil {
		t.Errorf("status after a failed zone read = %+v, want no failure", s)
	}
}
