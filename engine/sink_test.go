package engine

import (
	"github.com/calsync/calsync/internal/testenv"
	"slices"
	"sync"
	"testing"

	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// recordingSink keeps every status report per mailbox, in arrival order.
type recordingSink struct {
	mu       sync.Mutex
	states   map[string][]statusKey
	calendar map[string]int
}

func newRecordingSink() *recordingSink {
	return &recordingSink{states: map[string][]statusKey{}, calendar: map[string]int{}}
}

func (r *recordingSink) CalendarChanged(smtp string) {
	r.mu.Lock()
	r.calendar[smtp]++
	r.mu.Unlock()
}

func (r *recordingSink) StatusChanged(st store.MailboxStatus) {
	r.mu.Lock()
	r.states[st.SMTP] = append(r.states[st.SMTP], keyOf(st))
	r.mu.Unlock()
}

func (r *recordingSink) seen(smtp string) []statusKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.states[smtp])
}

func (r *recordingSink) changes(smtp string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calendar[smtp]
}

// TestSinkHearsEveryStatusChangeInOrder: the sink is told of each state and
// error change as it happens (no poll would see the short-lived states),
// ending with the state the engine reports.
func TestSinkHearsEveryStatusChangeInOrder(t *testing.T) {
	fx := newFakeExchange()
	fx.denied["eve@example.org"] = true
	fx.put("alice@example.org", occ("a1", "Standup", 1))
	sink := newRecordingSink()
	h := start(t, fx, memstore.New(), []string{"alice@example.org", "eve@example.org"}, func(o *Options) { o.Sink = sink })
	h.waitState("alice@example.org", StateLive)
	h.waitState("eve@example.org", StateDenied)
	testenv.WaitFor(t, "the calendar change of alice's load", func() bool { return sink.changes("alice@example.org") >= 1 })

	want := []statusKey{{StateQueued, ""}, {StateDiscovering, ""}, {StateSubscribing, ""}, {StateLoading, ""}, {StateLive, ""}}
	if got := sink.seen("alice@example.org"); !slices.Equal(got, want) {
		t.Errorf("alice's reported statuses = %v, want %v", got, want)
	}
	testenv.WaitFor(t, "eve's denial reported", func() bool {
		got := sink.seen("eve@example.org")
		return len(got) > 0 && got[len(got)-1] == statusKey{StateDenied, "ErrorImpersonateUserDenied"}
	})
	if sink.changes("eve@example.org") != 0 {
		t.Errorf("calendar changes reported for denied eve = %d, want 0", sink.changes("eve@example.org"))
	}

	h.stop()
	got := sink.seen("alice@example.org")
	if last := got[len(got)-1]; last.state != StateStopped {
		t.Errorf("alice's last reported state after stop = %q, want %q", last.state, StateStopped)
	}
}
