package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// replay delivers events on the open stream that carries smtp's
// subscription, as Exchange delivers what it queued while nobody listened.
func replay(t *testing.T, f *fakeExchange, smtp string, evs ...Event) {
	t.Helper()
	var s *fakeStream
	var id string
	testenv.WaitFor(t, "a stream with "+smtp+"'s subscription", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for st := range f.streams {
			for _, i := range st.ids {
				if f.subs[i] == smtp {
					s, id = st, i
					return true
				}
			}
		}
		return false
	})
	s.send(StreamMessage{Notifications: []Notification{{SubscriptionID: id, Events: evs}}})
}

func occKey(id, key, subject string, h int) calendar.Occurrence {
	o := occ(id, subject, h)
	o.ChangeKey = key
	return o
}

// TestReplayedNotificationIsNotReadAgain: a mailbox changed while calsync
// was down (or while its previous owner in a cluster was dead) is read
// once when it resumes; the event its subscription queued meanwhile,
// replayed when the stream opens, names a change the stored window
// already shows and costs no second read. A later change is read. With
// and without a stored sync state (a takeover within the first hour has
// none: the resume reads the window).
func TestReplayedNotificationIsNotReadAgain(t *testing.T) {
	for _, withState := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync state %v", withState), func(t *testing.T) {
			const alice = "alice@example.org"
			sx := newSyncingExchange()
			sx.put(alice, occKey("a1", "k1", "One", 1))
			st := memstore.New()
			h := start(t, sx.fakeExchange, st, []string{alice}, func(o *Options) {
				o.Exchange = sx
				if withState {
					o.ReconcileInterval = 30 * time.Millisecond
				}
			})
			if withState {
				waitStates(t, st, alice)
			} else {
				h.waitSubjects(alice, "One")
			}
			h.stop()

			// Changed while down: a new version of a1 and a new item b1.
			sx.put(alice, occKey("a1", "k2", "Moved while down", 1), occKey("b1", "k1", "Booked while down", 2))
			views := sx.countFor("CalendarView", alice)
			reg := prometheus.NewRegistry()
			h2 := start(t, sx.fakeExchange, st, []string{alice}, func(o *Options) { o.Exchange = sx; o.Registerer = reg })
			h2.waitSubjects(alice, "Moved while down", "Booked while down")
			h2.waitState(alice, StateLive)
			if n := sx.countFor("CalendarView", alice) - views; n != 1 {
				t.Fatalf("resume: %d CalendarView, want 1", n)
			}
			replay(t, sx.fakeExchange, alice,
				Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k2"},
				Event{Kind: EventCreated, ItemID: "b1", ChangeKey: "k1"})
			testenv.WaitFor(t, "the replayed notification found covered", func() bool {
				return metricValue(t, reg, "calsync_engine_replayed_notifications_covered_total") == 1
			})
			if n := sx.countFor("CalendarView", alice) - views; n != 1 {
				t.Errorf("after the replay: %d CalendarView, want still 1", n)
			}

			// A change after the resume names a change key no read saw.
			sx.mu.Lock()
			sx.items[alice] = []calendar.Occurrence{occKey("a1", "k3", "Later", 1)}
			sx.mu.Unlock()
			replay(t, sx.fakeExchange, alice, Event{Kind: EventModified, ItemID: "a1", ChangeKey: "k3"})
			h2.waitSubjects(alice, "Later")
			if n := sx.countFor("CalendarView", alice) - views; n != 2 {
				t.Errorf("after a later change: %d CalendarView, want 2", n)
			}
		})
	}
}

// TestEventsCovered is the rule table of worker_replay.go.
func TestEventsCovered(t *testing.T) {
	single := []calendar.Occurrence{occKey("a1", "k2", "A", 1), occKey("b1", "k1", "B", 2)}
	series := append(slices.Clone(single), calendar.Occurrence{ItemID: "o1", ChangeKey: "k1", Kind: calendar.KindOccurrence})
	cases := []struct {
		name string
		evs  []Event
		occs []calendar.Occurrence
		want bool
	}{
		{"modified to the stored key", []Event{{Kind: EventModified, ItemID: "a1", ChangeKey: "k2"}}, single, true},
		{"modified past the stored key", []Event{{Kind: EventModified, ItemID: "a1", ChangeKey: "k3"}}, single, false},
		{"created and stored", []Event{{Kind: EventCreated, ItemID: "b1", ChangeKey: "k1"}}, single, true},
		{"created, not stored", []Event{{Kind: EventCreated, ItemID: "c1", ChangeKey: "k1"}}, single, false},
		{"no change key", []Event{{Kind: EventModified, ItemID: "a1"}}, single, false},
		{"no item id (a folder event)", []Event{{Kind: EventModified}}, single, false},
		{"deleted and gone", []Event{{Kind: EventDeleted, ItemID: "z1"}}, single, true},
		{"deleted but still stored", []Event{{Kind: EventDeleted, ItemID: "a1"}}, single, false},
		{"deleted, series in the window (a master?)", []Event{{Kind: EventDeleted, ItemID: "z1"}}, series, false},
		{"moved out of the calendar", []Event{{Kind: EventMoved, ItemID: "d1", ChangeKey: "k1", OldItemID: "a1"}}, single, false},
		{"moved in and stored", []Event{{Kind: EventMoved, ItemID: "b1", ChangeKey: "k1", OldItemID: "x9"}}, single, true},
		{"one of two not covered", []Event{{Kind: EventModified, ItemID: "a1", ChangeKey: "k2"}, {Kind: EventCreated, ItemID: "c1", ChangeKey: "k1"}}, single, false},
		{"created, then modified to the stored key", []Event{{Kind: EventCreated, ItemID: "a1", ChangeKey: "k1"}, {Kind: EventModified, ItemID: "a1", ChangeKey: "k2"}}, single, true},
		{"modified to the stored key, then again", []Event{{Kind: EventModified, ItemID: "a1", ChangeKey: "k2"}, {Kind: EventModified, ItemID: "a1", ChangeKey: "k3"}}, single, false},
		{"created, then deleted", []Event{{Kind: EventCreated, ItemID: "z1", ChangeKey: "k1"}, {Kind: EventDeleted, ItemID: "z1"}}, single, true},
		{"deleted, then its free/busy changed (the simulator's and Exchange's burst)", []Event{{Kind: EventDeleted, ItemID: "a1"}, {Kind: EventFreeBusyChanged, ItemID: "a1", ChangeKey: "k2"}}, single, false},
		{"deleted and gone, then its free/busy changed", []Event{{Kind: EventDeleted, ItemID: "z1"}, {Kind: EventFreeBusyChanged, ItemID: "z1", ChangeKey: "k1"}}, single, true},
		{"free/busy alone, stored at its key", []Event{{Kind: EventFreeBusyChanged, ItemID: "a1", ChangeKey: "k2"}}, single, true},
		{"free/busy alone, another key", []Event{{Kind: EventFreeBusyChanged, ItemID: "a1", ChangeKey: "k1"}}, single, false},
		{"new mail", []Event{{Kind: EventNewMail, ItemID: "a1", ChangeKey: "k2"}}, single, false},
	}
	for _, c := range cases {
		if got := eventsCovered(c.evs, c.occs); got != c.want {
			t.Errorf("%s: covered = %v, want %v", c.name, got, c.want)
		}
	}
}
