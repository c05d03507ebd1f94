package sip

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/kamailiotest"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// rig is a Kamailio, a watcher and the store a connector keeps its
// publications in.
type rig struct {
	srv   *kamailio.Server
	watch *sipwatch.Watcher
	docs  *memstore.Store
	clock *clock.Fake
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigWith(t, kamailio.Options{})
}

func newRigWith(t *testing.T, opts kamailio.Options) *rig {
	t.Helper()
	srv := kamailiotest.New(t, opts)
	w, err := sipwatch.New(srv.Addr, srv.Domain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return &rig{srv: srv, watch: w, docs: memstore.New(), clock: clock.NewFake(time.Now())}
}

// entity is user's default presentity on the rig's server.
func (r *rig) entity(local string) string { return "sip:" + local + "@" + r.srv.Domain }

// subscribe subscribes the watcher to the users and waits for each first
// NOTIFY.
func (r *rig) subscribe(t *testing.T, locals ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, l := range locals {
		before := len(r.watch.Notifies(r.entity(l)))
		if err := r.watch.Subscribe(ctx, r.entity(l), 3600); err != nil {
			t.Fatal(err)
		}
		if _, err := r.waitN(ctx, l, before+1); err != nil {
			t.Fatalf("first NOTIFY for %s: %v", l, err)
		}
	}
}

func (r *rig) waitN(ctx context.Context, local string, n int) (sipwatch.Notify, error) {
	for {
		if l := r.watch.Notifies(r.entity(local)); len(l) >= n {
			return l[len(l)-1], nil
		}
		if _, err := r.watch.Wait(ctx, r.entity(local), func(sipwatch.Notify) bool { return len(r.watch.Notifies(r.entity(local))) >= n }); err != nil {
			return sipwatch.Notify{}, err
		}
	}
}

// options are a connector's options for the rig's server.
func (r *rig) options() Options {
	return Options{Server: "sip:" + r.srv.Addr, Domain: r.srv.Domain, Username: r.srv.Publisher, Password: r.srv.Password,
		Documents: r.docs, Clock: r.clock, Timeout: 3 * time.Second, RetryMin: time.Second}
}

// run starts a connector; stop ends it and waits for Run.
func run(t *testing.T, opts Options) (*Connector, func()) {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

// shows waits until the watcher's latest NOTIFY for local shows basic,
// activities and note; basic "" waits for a NOTIFY without presence.
func (r *rig) shows(t *testing.T, local, basic string, activities []string, note string) sipwatch.Notify {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := r.watch.Wait(ctx, r.entity(local), func(n sipwatch.Notify) bool {
		if basic == "" {
			// Withdrawn: no document, or Kamailio's "closed" stand-in for
			// a removed publication (a tuple without a person).
			return n.Doc == nil || (n.Doc.Basic == "closed" && n.Doc.Persons == 0)
		}
		return n.Doc != nil && n.Doc.Basic == basic && slices.Equal(n.Doc.Activities, activities) && n.Doc.Note == note
	})
	if err != nil {
		last, _ := r.watch.Last(r.entity(local))
		t.Fatalf("watcher of %s: want basic %q activities %v note %q; last NOTIFY %q: %v", local, basic, activities, note, last.Body, err)
	}
	if basic != "" && (n.Doc.Tuples != 1 || n.Doc.Persons != 1) {
		t.Fatalf("watcher of %s got %d tuples and %d persons: parallel publications\n%s", local, n.Doc.Tuples, n.Doc.Persons, n.Body)
	}
	return n
}

// publications waits until the server keeps want publications for local.
func (r *rig) publications(t *testing.T, local string, want int) {
	t.Helper()
	testenv.WaitFor(t, "the server to keep "+strconv.Itoa(want)+" publications of "+local, func() bool {
		got, err := r.srv.Publications(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return got[local+"@"+r.srv.Domain] == want
	})
}

func busy(text string) connectors.State {
	return connectors.State{Availability: "busy", StatusText: text}
}

// storm starts a connector that cannot publish (opts fail every update
// target-wide), sets users and asserts no storm: at most the 4 in flight
// are tried before the connector holds updates back, then one probe per
// back-off. It returns the connector's last error.
func (r *rig) storm(t *testing.T, opts Options, users int) string {
	t.Helper()
	opts.Concurrency = 4
	var attempts atomic.Int64
	opts.Observe = func(string, time.Duration) { attempts.Add(1) }
	c, _ := run(t, opts)
	for i := range users {
		c.Runner().Set("user"+strconv.Itoa(i)+"@example.com", busy("Busy"))
	}
	testenv.WaitFor(t, "the connector to hold updates back", func() bool {
		st := c.Status()
		return st.Unavailable && st.InFlight == 0
	})
	lastErr := c.Status().LastError
	first := attempts.Load()
	if first > 4 {
		t.Fatalf("%d updates tried before holding back, want at most the 4 in flight", first)
	}
	r.clock.Advance(time.Second)
	testenv.WaitFor(t, "one probe", func() bool { return attempts.Load() == first+1 && c.Status().InFlight == 0 })
	if st := c.Status(); !st.Unavailable || st.Queue != users {
		t.Fatalf("after the probe: %+v", st)
	}
	return lastErr
}
