package engine

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// A first load reads no zone when a reconciliation will: the window read
// at load spans every zone's (so New York's occurrences are all in it),
// the status names no zone, and the first reconciliation (within one
// interval) reads the zone and re-reads New York's own window. A restart
// before that keeps the wide window and still reads no zone at load.
func TestFirstLoadLeavesTheZoneToTheFirstReconciliation(t *testing.T) {
	const ny = "ny@example.org"
	fx := &zoneExchange{fakeExchange: newFakeExchange(), zones: map[string]string{ny: "America/New_York"}}
	clk := clock.NewFake(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	st := memstore.New()
	tweak := func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = -1
		o.OOFPollInterval = -1
		o.ReconcileInterval = time.Hour
		o.Window = WindowConfig{DaysBefore: 1, DaysAfter: 14, DefaultTimeZone: time.UTC}
	}
	window := func() calendar.Window {
		rec, err := st.Mailbox(context.Background(), ny)
		if err != nil {
			return calendar.Window{}
		}
		return rec.Checkpoint.Window
	}
	// The UTC window (1 March … 17 March) widened by 14 h before and
	// 12 h after: every zone's local midnights fall within.
	wide := calendar.Window{Start: time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC)}
	// 1 March 00:00 EST = 05:00 UTC … 17 March 00:00 EDT = 04:00 UTC.
	own := calendar.Window{Start: time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 17, 4, 0, 0, 0, time.UTC)}

	h := start(t, fx.fakeExchange, st, []string{ny}, tweak)
	h.waitState(ny, StateLive)
	if got := window(); got != wide {
		t.Fatalf("window after the first load = %v, want %v (every zone's)", got, wide)
	}
	if n := fx.countFor("MailboxTimeZone", ny); n != 0 {
		t.Errorf("zone reads at the first load = %d, want 0", n)
	}
	if s, _ := h.e.Status(ny); s.TimeZone != "" {
		t.Errorf("status zone before the first reconciliation = %q, want none", s.TimeZone)
	}
	h.stop()

	h = start(t, fx.fakeExchange, st, []string{ny}, tweak)
	h.waitState(ny, StateLive)
	if n := fx.countFor("MailboxTimeZone", ny); n != 0 {
		t.Errorf("zone reads after a restart = %d, want 0", n)
	}
	testenv.WaitFor(t, "the reconciliation timer", func() bool { return clk.PendingTimers() >= 1 })
	clk.Advance(time.Hour)
	testenv.WaitFor(t, "New York's own window after the first reconciliation", func() bool { return window() == own })
	if s, _ := h.e.Status(ny); s.TimeZone != "America/New_York" {
		t.Errorf("status zone after the first reconciliation = %q", s.TimeZone)
	}
	if n := fx.countFor("MailboxTimeZone", ny); n != 1 {
		t.Errorf("zone reads = %d, want 1 (the reconciliation's)", n)
	}
}
