package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
)

// recordingSink records the batches it receives and the log's last id at
// the time of each call.
type recordingSink struct {
	log *Log
	err error

	mu      sync.Mutex
	batches [][]Event
	lastIDs []uint64
}

func (r *recordingSink) Publish(_ context.Context, evs []Event) error {
	last := r.log.LastID()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(evs))
	r.lastIDs = append(r.lastIDs, last)
	return r.err
}

func (r *recordingSink) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Concat(r.batches...)
}

func newTestLog(t *testing.T, opts Options, sinks ...*recordingSink) *Log {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clock.NewFake(time.Unix(1000, 0))
	}
	for _, s := range sinks {
		opts.Sinks = append(opts.Sinks, s)
	}
	l, err := NewLog(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sinks {
		s.log = l
	}
	t.Cleanup(l.Close)
	return l
}

func presence(t *testing.T, user string, n int) Event {
	t.Helper()
	ev, err := NewEvent(PresenceChanged, user, map[string]int{"n": n})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func subscribe(t *testing.T, l *Log, from From) *Subscription {
	t.Helper()
	s, err := l.Subscribe(from)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// received takes n queued events without waiting: Publish has queued them
// before it returned.
func received(t *testing.T, s *Subscription, n int) []Event {
	t.Helper()
	var out []Event
	for range n {
		select {
		case ev := <-s.Events():
			out = append(out, ev)
		default:
			t.Fatalf("%d events queued, want %d", len(out), n)
		}
	}
	if extra := len(s.Events()); extra != 0 {
		t.Fatalf("%d extra events queued, want %d", extra, n)
	}
	return out
}

func TestPublishGoesToSinksFirstThenToSubscribersInOrder(t *testing.T) {
	outbox := &recordingSink{}
	l := newTestLog(t, Options{}, outbox)
	all := subscribe(t, l, From{})
	bobOnly := subscribe(t, l, From{Users: map[string]bool{"bob@example.com": true}})
	first := l.LastID() + 1

	batch := []Event{presence(t, "bob@example.com", 1), presence(t, "alice@example.com", 2), presence(t, "bob@example.com", 3)}
	if err := l.Publish(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	note, _ := NewEvent("note", "", map[string]string{"for": "everyone"})
	if err := l.Publish(t.Context(), []Event{note}); err != nil {
		t.Fatal(err)
	}

	got := received(t, all, 4)
	for i, ev := range got {
		if ev.ID != first+uint64(i) {
			t.Errorf("event %d has id %d, want %d (consecutive)", i, ev.ID, first+uint64(i))
		}
	}
	if got[1].Key != "alice@example.com" || string(got[2].Data) != `{"n":3}` || got[3].Type != "note" {
		t.Errorf("subscriber got %+v, want the batch in order, then the note", got)
	}
	if bob := received(t, bobOnly, 3); bob[0].ID != first || bob[1].ID != first+2 || bob[2].Type != "note" {
		t.Errorf("bob's subscriber got %+v, want bob's two events and the unkeyed note", bob)
	}

	// The sink got both batches, whole, before any of their ids existed.
	if len(outbox.batches) != 2 || len(outbox.batches[0]) != 3 {
		t.Fatalf("sink batches = %d, want the 3-event batch then the note", len(outbox.batches))
	}
	if outbox.lastIDs[0] != first-1 || outbox.lastIDs[1] != first+2 {
		t.Errorf("sink called at last ids %v, want %d and %d (before each batch was numbered)", outbox.lastIDs, first-1, first+2)
	}
	for _, ev := range outbox.events() {
		if ev.ID != 0 {
			t.Errorf("sink saw id %d, want 0 (unnumbered)", ev.ID)
		}
	}
}

func TestSinkFailureStillReachesSubscribers(t *testing.T) {
	full := errors.New("outbox: disk full")
	failing, healthy := &recordingSink{err: full}, &recordingSink{}
	l := newTestLog(t, Options{}, failing, healthy)
	s := subscribe(t, l, From{})
	err := l.Publish(t.Context(), []Event{presence(t, "bob@example.com", 1)})
	if !errors.Is(err, full) {
		t.Fatalf("Publish = %v, want the sink's error", err)
	}
	if len(healthy.events()) != 1 {
		t.Errorf("the second sink got %d events, want 1 despite the first sink's failure", len(healthy.events()))
	}
	received(t, s, 1)
}

func TestPublishRejectsInvalidEvents(t *testing.T) {
	outbox := &recordingSink{}
	l := newTestLog(t, Options{}, outbox)
	good := presence(t, "bob@example.com", 1)
	before := l.LastID()
	for _, bad := range []Event{
		{Type: "", Data: []byte(`{}`)},
		{Type: "two words", Data: []byte(`{}`)},
		{Type: "evil\ndata: injected", Data: []byte(`{}`)},
		{Type: "a:b", Data: []byte(`{}`)},
		{Type: "note", Data: []byte("{\n}")},
		{Type: "note", Data: []byte(`{"open":`)},
	} {
		err := l.Publish(t.Context(), []Event{good, bad})
		if err == nil || !strings.Contains(err.Error(), "event 2 of 2") {
			t.Errorf("Publish(%q, %q) = %v, want an error naming event 2", bad.Type, bad.Data, err)
		}
	}
	if n := len(outbox.events()); n != 0 || l.LastID() != before {
		t.Errorf("after rejected batches: %d sink events, last id %d; want nothing published", n, l.LastID())
	}
	if _, err := NewEvent("note", "", func() {}); err == nil {
		t.Errorf("NewEvent with an unencodable payload = nil error")
	}
}

func TestSinksAndSubscribersSeeOneOrder(t *testing.T) {
	outbox := &recordingSink{}
	l := newTestLog(t, Options{ClientBuffer: 1000}, outbox)
	s := subscribe(t, l, From{})
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for n := range 50 {
				if err := l.Publish(context.Background(), []Event{presence(t, fmt.Sprintf("user%d@example.com", p), n)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	sunk := outbox.events()
	streamed := received(t, s, len(sunk))
	for i := range sunk {
		if sunk[i].Key != streamed[i].Key || string(sunk[i].Data) != string(streamed[i].Data) {
			t.Fatalf("event %d: sink %s %s, stream %s %s; want one order", i, sunk[i].Key, sunk[i].Data, streamed[i].Key, streamed[i].Data)
		}
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := newTestLog(t, Options{ClientBuffer: 2, Registerer: reg})
	slow := subscribe(t, l, From{})
	fast := subscribe(t, l, From{})
	for n := range 3 {
		if err := l.Publish(t.Context(), []Event{presence(t, "bob@example.com", n)}); err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			<-fast.Events()
		}
	}
	select {
	case <-slow.Done():
	default:
		t.Fatalf("a subscriber with a full queue was not dropped")
	}
	select {
	case <-fast.Done():
		t.Fatalf("a subscriber that keeps up was dropped")
	default:
	}
	if got := gathered(t, reg, "calsync_sse_clients_dropped_total", ""); got != 1 {
		t.Errorf("dropped counter = %v, want 1", got)
	}
	if got := gathered(t, reg, "calsync_sse_clients", ""); got != 1 {
		t.Errorf("subscribers gauge = %v, want 1", got)
	}
	if got := gathered(t, reg, "calsync_sse_events_published_total", PresenceChanged); got != 3 {
		t.Errorf("published counter = %v, want 3", got)
	}
}

func TestCloseEndsSubscriptionsButNotTheSinks(t *testing.T) {
	outbox := &recordingSink{}
	l := newTestLog(t, Options{}, outbox)
	s := subscribe(t, l, From{})
	l.Close()
	select {
	case <-s.Done():
	default:
		t.Fatalf("Close did not end the subscription")
	}
	if _, err := l.Subscribe(From{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	// A change made durable during shutdown must not fail: its producer
	// would publish it again after the restart, and webhooks would see it
	// twice.
	if err := l.Publish(t.Context(), []Event{presence(t, "bob@example.com", 1)}); err != nil || len(outbox.events()) != 1 {
		t.Errorf("Publish after Close = %v with %d sink events, want the sink to get it", err, len(outbox.events()))
	}
}

// gathered returns the value of a counter or gauge from reg; label, when
// set, must equal one of the metric's label values.
func gathered(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				ok = ok || lp.GetValue() == label
			}
			if !ok {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not gathered", name, label)
	return 0
}

// BenchmarkPublishFanout measures publishing one event to 100 in-process
// subscribers that drain their queues (the log's own cost, without HTTP).
func BenchmarkPublishFanout(b *testing.B) {
	l, err := NewLog(Options{ClientBuffer: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for range 100 {
		s, _ := l.Subscribe(From{})
		go func() {
			for {
				select {
				case <-s.Events():
				case <-s.Done():
					return
				}
			}
		}()
	}
	ev, _ := NewEvent(PresenceChanged, "alice@example.com", map[string]string{"user": "alice@example.com", "availability": "busy"})
	batch := []Event{ev}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Publish(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	if n := l.Subscribers(); n != 100 {
		b.Logf("%d subscribers were dropped", 100-n)
	}
}
