package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/store/pgstore"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// eventInstance is one calsync instance's event path in a cluster: producers
// publish on pub (its sink is the event table), subscribers read mirror.
type eventInstance struct {
	st     *pgstore.Store
	pub    *events.Log
	mirror *events.Log
}

func newEventInstance(ctx context.Context, t testing.TB, url string) *eventInstance {
	t.Helper()
	st, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pub, err := events.NewLog(events.Options{Sinks: []events.Sink{st.EventSink()}, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := events.NewLog(events.Options{Numbered: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); st.Tail(ctx, mirror, pgstore.TailOptions{Poll: 200 * time.Millisecond}) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &eventInstance{st: st, pub: pub, mirror: mirror}
}

// collect reads n events from sub (replay first), failing after a minute.
func collect(t *testing.T, sub *events.Subscription, n int) []events.Event {
	t.Helper()
	got := append([]events.Event(nil), sub.Replay...)
	deadline := time.After(time.Minute)
	for len(got) < n {
		select {
		case ev := <-sub.Events():
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("received %d of %d events", len(got), n)
		}
	}
	return got
}

func TestTailGivesEveryInstanceTheSameStream(t *testing.T) {
	url := pgtest.Database(t)
	ctx := t.Context()
	a, b := newEventInstance(ctx, t, url), newEventInstance(ctx, t, url)
	subA, err := a.mirror.Subscribe(events.From{})
	if err != nil {
		t.Fatal(err)
	}
	defer subA.Close()
	subB, err := b.mirror.Subscribe(events.From{})
	if err != nil {
		t.Fatal(err)
	}
	defer subB.Close()

	const perInstance, batches = 4, 25
	var wg sync.WaitGroup
	for i, in := range []*eventInstance{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range batches {
				var batch []events.Event
				for k := range perInstance {
					ev, _ := events.NewEvent(events.PresenceChanged, fmt.Sprintf("u%d@x", i), map[string]int{"seq": n*perInstance + k})
					batch = append(batch, ev)
				}
				if err := in.pub.Publish(ctx, batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 2 * perInstance * batches
	gotA, gotB := collect(t, subA, total), collect(t, subB, total)
	last := map[string]int{}
	for i := range gotA {
		ea, eb := gotA[i], gotB[i]
		if ea.ID != eb.ID || ea.Key != eb.Key || string(ea.Data) != string(eb.Data) {
			t.Fatalf("event %d differs: %d %s %s on A, %d %s %s on B", i, ea.ID, ea.Key, ea.Data, eb.ID, eb.Key, eb.Data)
		}
		if i > 0 && ea.ID <= gotA[i-1].ID {
			t.Fatalf("ids out of order: %d after %d", ea.ID, gotA[i-1].ID)
		}
		// Each producer's events arrive in its own order, none lost.
		var p struct{ Seq int }
		_ = json.Unmarshal(ea.Data, &p)
		if want := last[ea.Key]; p.Seq != want {
			t.Fatalf("%s: seq %d where %d was expected", ea.Key, p.Seq, want)
		}
		last[ea.Key] = p.Seq + 1
	}

	// A client that read A's stream up to the middle resumes on B.
	mid := gotA[total/2-1].ID
	res, err := b.mirror.Subscribe(events.From{Resume: true, After: mid})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if res.Reset || len(res.Replay) != total/2 || res.Replay[0].ID != gotA[total/2].ID {
		t.Fatalf("resume on B after %d: reset %v, %d replayed; want the %d events after it", mid, res.Reset, len(res.Replay), total/2)
	}

	// A new eventInstance starting later loads the history: resuming works there too.
	c := newEventInstance(ctx, t, url)
	waitLastID(t, c.mirror, gotA[total-1].ID)
	res2, err := c.mirror.Subscribe(events.From{Resume: true, After: mid})
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Close()
	if res2.Reset || len(res2.Replay) != total/2 {
		t.Fatalf("resume on a later eventInstance: reset %v, %d replayed, want %d", res2.Reset, len(res2.Replay), total/2)
	}
}

func TestTailSurvivesADroppedConnection(t *testing.T) {
	url := pgtest.Database(t)
	ctx := t.Context()
	a, b := newEventInstance(ctx, t, url), newEventInstance(ctx, t, url)
	sub, err := b.mirror.Subscribe(events.From{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ev, _ := events.NewEvent(events.SyncHealth, "m@x", map[string]string{"state": "live"})
	if err := a.pub.Publish(ctx, []events.Event{ev}); err != nil {
		t.Fatal(err)
	}
	first := collect(t, sub, 1)[0]

	// Kill every tailer's connection (they are the ones that LISTEN).
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE ANY (ARRAY['LISTEN%', '%FROM events WHERE id >%', 'DELETE FROM events%'])`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 2 {
		t.Fatalf("terminated %d tailer connections, want both", killed)
	}
	if err := a.pub.Publish(ctx, []events.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, sub, 1)[0]; got.ID <= first.ID {
		t.Fatalf("after the drop: id %d, want above %d", got.ID, first.ID)
	}
}

func waitLastID(t *testing.T, l *events.Log, id uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.LastID() < id {
		if time.Now().After(deadline) {
			t.Fatalf("LastID %d, want %d", l.LastID(), id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
