package sip

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
	"github.com/calsync/calsync/internal/testenv"
)

// watchedTarget wraps the connector's Publish: it records a user published
// twice at once and tells which update is in flight.
type watchedTarget struct {
	c        *Connector
	mu       sync.Mutex
	inflight map[string]string // user → note in flight
	overlap  []string
	started  chan string // user: note, on every Publish
}

func (o *watchedTarget) Publish(ctx context.Context, u connectors.Update) (time.Time, error) {
	o.mu.Lock()
	if _, ok := o.inflight[u.User]; ok {
		o.overlap = append(o.overlap, u.User)
	}
	o.inflight[u.User] = u.State.StatusText
	o.mu.Unlock()
	o.started <- u.User + ": " + u.State.StatusText
	defer func() {
		o.mu.Lock()
		delete(o.inflight, u.User)
		o.mu.Unlock()
	}()
	return o.c.Publish(ctx, u)
}

// Quick changes of a user, each made while the previous one's PUBLISH is
// in flight, go out one at a time in the order they were made. Kamailio
// may NOTIFY them out of order (an earlier document with a later CSeq);
// the confirmation a second after the last quick change leaves the
// watcher with the last state.
func TestQuickChangesLastWins(t *testing.T) {
	r := newRig(t)
	users := []string{"quinn", "ruth"}
	r.subscribe(t, users...)
	c, _ := run(t, r.options())
	// A runner of its own over the connector (the connector's runner
	// stays idle), to see every Publish.
	wt := &watchedTarget{c: c, inflight: map[string]string{}, started: make(chan string, 1000)}
	runner, err := connectors.NewRunner(connectors.Options{Name: "order", Target: wt, Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- runner.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })

	const changes = 30
	note := func(i int) string { return "Change " + strconv.Itoa(i) }
	for i := 1; i <= changes; i++ {
		want := map[string]bool{}
		for _, u := range users {
			runner.Set(u+"@example.com", busy(note(i)))
			want[u+"@example.com: "+note(i)] = true
		}
		// The next change as soon as this one is on its way.
		for len(want) > 0 {
			select {
			case s := <-wt.started:
				if !want[s] {
					t.Fatalf("sent %q while change %d was due", s, i)
				}
				delete(want, s)
			case <-time.After(30 * time.Second):
				t.Fatalf("change %d not sent: waiting for %v", i, want)
			}
		}
	}
	// Every change's NOTIFY has arrived (one per PUBLISH); then the
	// second passes and the confirmations go out.
	// (Counted by CSeq: a NOTIFY answered late is retransmitted.)
	docs := func(u string) int {
		seen := map[uint32]bool{}
		for _, x := range r.watch.Notifies(r.entity(u)) {
			if x.Doc != nil {
				seen[x.CSeq] = true
			}
		}
		return len(seen)
	}
	for _, u := range users {
		testenv.WaitFor(t, "the NOTIFYs of "+u+"'s changes", func() bool { return docs(u) == changes })
	}
	r.clock.Advance(confirmAfter)
	for _, u := range users {
		testenv.WaitFor(t, "the NOTIFY of "+u+"'s confirmation", func() bool { return docs(u) == changes+1 })
		last, _ := r.watch.Last(r.entity(u))
		if last.Doc == nil || last.Doc.Note != note(changes) {
			t.Fatalf("%s: the watcher's latest NOTIFY (CSeq %d) shows %q, want %q", u, last.CSeq, last.Body, note(changes))
		}
		r.publications(t, u, 1)
		t.Logf("%s: notes in NOTIFY CSeq order: %v", u, notesByCSeq(r.watch.Notifies(r.entity(u))))
	}
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if len(wt.overlap) > 0 {
		t.Fatalf("two PUBLISHes at once for %v", wt.overlap)
	}
}

// notesByCSeq lists the notes of NOTIFYs in their subscription's CSeq order.
func notesByCSeq(ns []sipwatch.Notify) []string {
	sort.SliceStable(ns, func(i, j int) bool { return ns[i].CSeq < ns[j].CSeq })
	var out []string
	for _, n := range ns {
		if n.Doc != nil {
			out = append(out, strings.TrimPrefix(n.Doc.Note, "Change "))
		}
	}
	return out
}
