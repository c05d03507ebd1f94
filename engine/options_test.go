package engine

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

func TestExplicitZeroWindowIsTodayOnly(t *testing.T) {
	o := Options{Store: memstore.New(), Exchange: newFakeExchange(), Window: WindowConfig{Explicit: true}}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if o.Window.DaysBefore != 0 || o.Window.DaysAfter != 0 {
		t.Errorf("explicit 0/0 window became %d/%d", o.Window.DaysBefore, o.Window.DaysAfter)
	}
	now := time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)
	win := o.Window.windowAt(now, time.UTC)
	if want := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC); !win.Start.Equal(want) || !win.End.Equal(want.AddDate(0, 0, 1)) {
		t.Errorf("today-only window = %v – %v, want the 26th", win.Start, win.End)
	}
	d := Options{Store: memstore.New(), Exchange: newFakeExchange()}
	if err := d.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if d.Window.DaysBefore != 1 || d.Window.DaysAfter != 14 {
		t.Errorf("unset window = %d/%d, want the default 1/14", d.Window.DaysBefore, d.Window.DaysAfter)
	}
}

func TestNegativeCoalesceDelayReadsAtTheFirstHint(t *testing.T) {
	o := Options{Store: memstore.New(), Exchange: newFakeExchange(), CoalesceDelay: -1}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if o.CoalesceDelay >= 0 {
		t.Errorf("CoalesceDelay -1 became %v; negative must stay (no delay)", o.CoalesceDelay)
	}
	fx := newFakeExchange()
	fx.put("alice@example.org", occ("a1", "One", 1))
	h := start(t, fx, memstore.New(), []string{"alice@example.org"}, func(o *Options) { o.CoalesceDelay = 10 * time.Millisecond })
	h.waitSubjects("alice@example.org", "One")
	// The fake delivers events only to an open stream.
	testenv.WaitFor(t, "alice's subscription on an open stream", func() bool {
		for _, g := range h.e.Groups() {
			for _, c := range g.Connections {
				if c.State == "open" && c.Subscriptions == 1 {
					return true
				}
			}
		}
		return false
	})
	fx.put("alice@example.org", occ("a1", "Two", 1))
	h.waitSubjects("alice@example.org", "Two")
}

// TestAutodiscoverPerMailboxErrorsAreCounted: a mailbox Autodiscover does
// not know shows in calsync_engine_errors_total like any Exchange error.
func TestAutodiscoverPerMailboxErrorsAreCounted(t *testing.T) {
	fx := newFakeExchange()
	fx.unknown = map[string]bool{"ghost@example.org": true}
	reg := prometheus.NewRegistry()
	h := start(t, fx, memstore.New(), []string{"alice@example.org", "ghost@example.org"}, func(o *Options) { o.Registerer = reg })
	h.waitState("ghost@example.org", StateDenied)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "calsync_engine_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == "ErrorNonExistentMailbox" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	if n < 1 {
		t.Errorf("calsync_engine_errors_total{code=\"ErrorNonExistentMailbox\"} = %v, want ≥ 1", n)
	}
}
