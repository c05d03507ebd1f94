package events

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
)

func TestResumeReplaysWhatWasMissed(t *testing.T) {
	l := newTestLog(t, Options{History: 4})
	publishN := func(n int) (ids []uint64) {
		for i := range n {
			if err := l.Publish(t.Context(), []Event{presence(t, "bob@example.com", i)}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, l.LastID())
		}
		return ids
	}
	ids := publishN(3)
	s := subscribe(t, l, From{Resume: true, After: ids[0]})
	if s.Reset || len(s.Replay) != 2 || s.Replay[0].ID != ids[1] || s.Replay[1].ID != ids[2] {
		t.Fatalf("resume after %d: reset=%v replay=%+v, want ids %d and %d", ids[0], s.Reset, s.Replay, ids[1], ids[2])
	}
	// The next event goes to Events, not twice.
	publishN(1)
	received(t, s, 1)

	// The ring wraps: 4 events kept of 8.
	ids = append(ids, publishN(4)...)
	last := l.LastID()
	tests := []struct {
		name       string
		after      uint64
		wantReset  bool
		wantReplay int
	}{
		{"evicted by the wrap", ids[2], true, 0},
		{"the oldest kept minus one, across the wrap", last - 4, false, 4},
		{"still buffered", last - 2, false, 2},
		{"up to date", last, false, 0},
		{"from the future (another process)", last + 100, true, 0},
		{"from an older process", 17, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := subscribe(t, l, From{Resume: true, After: tc.after})
			if s.Reset != tc.wantReset || len(s.Replay) != tc.wantReplay || s.Current != last {
				t.Errorf("reset=%v replay=%d current=%d, want reset=%v replay=%d current=%d", s.Reset, len(s.Replay), s.Current, tc.wantReset, tc.wantReplay, last)
			}
			for i, ev := range s.Replay {
				if want := last - uint64(tc.wantReplay) + 1 + uint64(i); ev.ID != want {
					t.Errorf("replay[%d] = %d, want %d", i, ev.ID, want)
				}
			}
		})
	}
}

func TestResumeHonoursTheUserFilter(t *testing.T) {
	l := newTestLog(t, Options{})
	start := l.LastID()
	note, _ := NewEvent("note", "", map[string]string{})
	for _, ev := range []Event{presence(t, "alice@example.com", 1), presence(t, "bob@example.com", 2), note} {
		if err := l.Publish(t.Context(), []Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	s := subscribe(t, l, From{Resume: true, After: start, Users: map[string]bool{"alice@example.com": true}})
	if len(s.Replay) != 2 || s.Replay[0].Key != "alice@example.com" || s.Replay[1].Type != "note" {
		t.Errorf("filtered replay = %+v, want alice's event and the unkeyed note", s.Replay)
	}
}

func TestIDsIncreaseAcrossRestart(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	l1 := newTestLog(t, Options{Clock: clk})
	for n := range 5 {
		if err := l1.Publish(t.Context(), []Event{presence(t, "bob@example.com", n)}); err != nil {
			t.Fatal(err)
		}
	}
	last := l1.LastID()
	clk.Advance(time.Second)
	reg := prometheus.NewRegistry()
	l2 := newTestLog(t, Options{Clock: clk, Registerer: reg})
	if err := l2.Publish(t.Context(), []Event{presence(t, "bob@example.com", 0)}); err != nil {
		t.Fatal(err)
	}
	if l2.LastID() <= last {
		t.Errorf("first id after a restart %d <= last id before %d", l2.LastID(), last)
	}
	s := subscribe(t, l2, From{Resume: true, After: last})
	if !s.Reset || s.Replay != nil {
		t.Errorf("resuming across a restart: reset=%v replay=%d, want a reset", s.Reset, len(s.Replay))
	}
	if got := gathered(t, reg, "calsync_sse_resets_total", ""); got != 1 {
		t.Errorf("resets counter = %v, want 1", got)
	}
}
