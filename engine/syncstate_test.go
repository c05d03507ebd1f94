package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// syncingExchange adds sync states to the fake: each mailbox's calendar
// has a version, bumped by every change; a state names the version it
// was taken at.
type syncingExchange struct {
	*fakeExchange
	vmu      sync.Mutex
	version  map[string]int
	epoch    int // states of another epoch are invalid (a reset on the server)
	statesOf map[string][]string
}

func newSyncingExchange() *syncingExchange {
	return &syncingExchange{fakeExchange: newFakeExchange(), version: map[string]int{}, statesOf: map[string][]string{}}
}

func (s *syncingExchange) put(smtp string, occs ...calendar.Occurrence) {
	s.vmu.Lock()
	s.version[smtp]++
	s.vmu.Unlock()
	s.fakeExchange.put(smtp, occs...)
}

func (s *syncingExchange) CalendarSyncState(ctx context.Context, t Target, state string) (string, bool, error) {
	if err := s.enter("SyncFolderItems", t.SMTP); err != nil {
		return "", false, err
	}
	defer s.leave()
	s.vmu.Lock()
	defer s.vmu.Unlock()
	s.statesOf[t.SMTP] = append(s.statesOf[t.SMTP], state)
	cur := fmt.Sprintf("e%d/v%d", s.epoch, s.version[t.SMTP])
	if state == "" {
		return cur, true, nil
	}
	var epoch, v int
	if _, err := fmt.Sscanf(state, "e%d/v%d", &epoch, &v); err != nil || epoch != s.epoch {
		return "", false, &ExchangeError{Code: "ErrorInvalidSyncStateData"}
	}
	return cur, v != s.version[t.SMTP], nil
}

// waitStates waits until every mailbox's checkpoint holds a sync state.
func waitStates(t *testing.T, st store.Store, smtps ...string) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("sync states of %v stored", smtps), func() bool {
		for _, m := range smtps {
			rec, err := st.Mailbox(context.Background(), m)
			if err != nil || rec.Checkpoint.SyncState == "" {
				return false
			}
		}
		return true
	})
}

// reconciledAlice loads alice ("One") until a reconciliation stored her
// sync state, and stops.
func reconciledAlice(t *testing.T) (*syncingExchange, store.Store) {
	t.Helper()
	sx := newSyncingExchange()
	sx.put("alice@example.org", occ("a1", "One", 1))
	st := memstore.New()
	h := start(t, sx.fakeExchange, st, []string{"alice@example.org"}, func(o *Options) { o.Exchange = sx; o.ReconcileInterval = 30 * time.Millisecond })
	waitStates(t, st, "alice@example.org")
	h.stop()
	return sx, st
}

// TestRestartVerifiesBySyncState: a restart over the store asks each
// mailbox's stored sync state instead of re-reading every window; only the
// mailbox changed while calsync was down is read, and it is right.
func TestRestartVerifiesBySyncState(t *testing.T) {
	sx := newSyncingExchange()
	sx.put("alice@example.org", occ("a1", "One", 1))
	sx.put("bob@example.org", occ("b1", "Bob's", 2))
	st := memstore.New()
	mbs := []string{"alice@example.org", "bob@example.org"}
	// Reconciliations take the first sync states.
	h := start(t, sx.fakeExchange, st, mbs, func(o *Options) { o.Exchange = sx; o.ReconcileInterval = 30 * time.Millisecond })
	h.waitSubjects("alice@example.org", "One")
	waitStates(t, st, mbs...)
	h.stop()

	sx.put("alice@example.org", occ("a1", "Changed while calsync was down", 1))
	views := map[string]int{}
	for _, m := range mbs {
		views[m] = sx.countFor("CalendarView", m)
	}
	h2 := start(t, sx.fakeExchange, st, mbs, func(o *Options) { o.Exchange = sx })
	h2.waitSubjects("alice@example.org", "Changed while calsync was down")
	h2.waitState("bob@example.org", StateLive)
	if got := sx.countFor("CalendarView", "bob@example.org"); got != views["bob@example.org"] {
		t.Errorf("bob (unchanged): %d CalendarView after the restart, want none", got-views["bob@example.org"])
	}
	if got := sx.countFor("CalendarView", "alice@example.org"); got == views["alice@example.org"] {
		t.Errorf("alice (changed while down): no CalendarView after the restart")
	}
	if got := h2.stored("bob@example.org"); len(got) != 1 || got[0].Subject != "Bob's" {
		t.Errorf("bob's stored occurrences after the restart = %+v, want the one read before", got)
	}
	// Bob's state still proves his window; alice's was renewed before her
	// read, so a later check asks from it.
	rec, err := st.Mailbox(context.Background(), "alice@example.org")
	if err != nil || rec.Checkpoint.SyncState != "e0/v2" {
		t.Errorf("alice's stored state = %q (%v), want the one taken before the read (e0/v2)", rec.Checkpoint.SyncState, err)
	}
}

// TestRejectedSyncStateTakesANewOne: a state Exchange no longer accepts
// (ErrorInvalidSyncStateData) is replaced by a first one and the window
// read, instead of failing the mailbox.
func TestRejectedSyncStateTakesANewOne(t *testing.T) {
	sx, st := reconciledAlice(t)

	sx.vmu.Lock()
	sx.epoch++
	sx.vmu.Unlock()
	sx.put("alice@example.org", occ("a1", "Two", 1))
	h2 := start(t, sx.fakeExchange, st, []string{"alice@example.org"}, func(o *Options) { o.Exchange = sx })
	h2.waitSubjects("alice@example.org", "Two")
	testenv.WaitFor(t, "a state of the new epoch stored", func() bool {
		rec, err := st.Mailbox(context.Background(), "alice@example.org")
		return err == nil && rec.Checkpoint.SyncState == "e1/v2"
	})
	if st, _ := h2.e.Status("alice@example.org"); st.LastError != nil {
		t.Errorf("alice's last error = %+v, want none (a rejected state is no failure)", st.LastError)
	}
}

// TestNotifiedReadLeavesTheStateStale: after a notification's read the
// stored state would report that change again, so a stream recovery reads
// the window at once instead of asking the state first (one request, not
// two); before it, a recovery asks the state.
func TestNotifiedReadLeavesTheStateStale(t *testing.T) {
	sx, st := reconciledAlice(t)

	h2 := start(t, sx.fakeExchange, st, []string{"alice@example.org"}, func(o *Options) { o.Exchange = sx })
	h2.waitState("alice@example.org", StateLive)
	testenv.WaitFor(t, "a stream with alice's subscription", func() bool { return sx.streamWith("alice@example.org") })
	cut := func() {
		for _, s := range sx.openStreams() {
			s.cut()
		}
	}
	// A cut while the state is current: verified by the state alone.
	checks, views := sx.countFor("SyncFolderItems", "alice@example.org"), sx.countFor("CalendarView", "alice@example.org")
	cut()
	testenv.WaitFor(t, "a state check after the stream cut", func() bool {
		return sx.countFor("SyncFolderItems", "alice@example.org") > checks
	})
	h2.waitState("alice@example.org", StateLive)
	if got := sx.countFor("CalendarView", "alice@example.org"); got != views {
		t.Errorf("%d CalendarView after a cut with a current state and no change, want none", got-views)
	}
	// A change read by its notification, then a cut: straight to the window.
	testenv.WaitFor(t, "the stream reopened", func() bool { return sx.streamWith("alice@example.org") })
	sx.put("alice@example.org", occ("a1", "Two", 1))
	h2.waitSubjects("alice@example.org", "Two")
	checks, views = sx.countFor("SyncFolderItems", "alice@example.org"), sx.countFor("CalendarView", "alice@example.org")
	cut()
	testenv.WaitFor(t, "the window re-read after the stream cut", func() bool {
		return sx.countFor("CalendarView", "alice@example.org") > views
	})
	if got := sx.countFor("SyncFolderItems", "alice@example.org"); got != checks {
		t.Errorf("%d sync-state checks after a notified read and a stream cut, want none", got-checks)
	}
}

// TestSettledResubscriptionStoresTheNewSubscription: a read after a
// resubscription that the sync state settles ("nothing changed") commits
// no window, but the checkpoint must name the new subscription: the stored
// one is dead, and a restart would resume it, fail and read again.
func TestSettledResubscriptionStoresTheNewSubscription(t *testing.T) {
	const alice = "alice@example.org"
	sx, st := reconciledAlice(t)
	h := start(t, sx.fakeExchange, st, []string{alice}, func(o *Options) { o.Exchange = sx })
	h.waitState(alice, StateLive)
	testenv.WaitFor(t, "a stream with alice's subscription", func() bool { return sx.streamWith(alice) })
	subscribes, views := sx.countFor("Subscribe", alice), sx.countFor("CalendarView", alice)
	sx.restart() // every subscription gone, nothing changed
	current := func() string {
		sx.mu.Lock()
		defer sx.mu.Unlock()
		for id, smtp := range sx.subs {
			if smtp == alice {
				return id
			}
		}
		return ""
	}
	testenv.WaitFor(t, "alice resubscribed and her stored checkpoint naming the new subscription", func() bool {
		id := current()
		if id == "" || sx.countFor("Subscribe", alice) == subscribes {
			return false
		}
		rec, err := st.Mailbox(context.Background(), alice)
		return err == nil && rec.Checkpoint.SubscriptionID == id
	})
	if got := sx.countFor("CalendarView", alice); got != views {
		t.Errorf("%d CalendarView after the resubscription, want none (the sync state settles it)", got-views)
	}
}
