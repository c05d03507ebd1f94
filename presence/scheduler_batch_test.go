package presence

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// batchRecorder collects the calls of PublishBatch.
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]Change
}

func (r *batchRecorder) publish(cs []Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(cs))
	return nil
}

func (r *batchRecorder) all() [][]Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// startBatchScheduler is startScheduler with PublishBatch set (and Publish
// set too, to prove it is not used then).
func startBatchScheduler(t *testing.T, c *clock.Fake, src *fakeSource, st store.PresenceStore) (*harness, *batchRecorder) {
	t.Helper()
	h := newHarness(t, c, src)
	batches := &batchRecorder{}
	h.run(SchedulerOptions{Rules: mustCompile(t, RuleSet{}), Source: src, Store: st,
		Publish: h.rec.publish, PublishBatch: batches.publish, Horizon: 7 * 24 * time.Hour})
	return h, batches
}

// burstUsers gives n users (added in reverse order) meetings from 09:00
// to 10:00 and from 11:00 to 12:00 and returns their addresses sorted.
func burstUsers(src *fakeSource, n int) []string {
	var users []string
	for i := n - 1; i >= 0; i-- {
		u := fmt.Sprintf("user%02d@example.com", i)
		src.set(u, []calendar.Occurrence{
			occ("m"+u, "2025-11-24 09:00", "2025-11-24 10:00", meeting),
			occ("n"+u, "2025-11-24 11:00", "2025-11-24 12:00", meeting),
		}, calendar.OOFSettings{}, true)
		users = append(users, u)
	}
	slices.Sort(users)
	return users
}

func changeUsers(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.User
	}
	return out
}

func TestSchedulerPublishesSimultaneousTransitionsInOneBatch(t *testing.T) {
	for _, n := range []int{1, 2, 25} {
		t.Run(fmt.Sprint(n, " users"), func(t *testing.T) {
			c := clock.NewFake(at("2025-11-24 08:00"))
			src := newFakeSource()
			users := burstUsers(src, n)
			st := &mapPresenceStore{}
			h, rec := startBatchScheduler(t, c, src, st)

			// At start every user is published once, in one batch.
			if got := rec.all(); len(got) != 1 || !slices.Equal(changeUsers(got[0]), users) {
				t.Fatalf("start batches = %v, want one with %v", got, users)
			}
			h.advanceTo("2025-11-24 09:00")
			got := rec.all()
			if len(got) != 2 {
				t.Fatalf("PublishBatch called %d times, want 2 (start, 09:00)", len(got))
			}
			burst := got[1]
			if !slices.Equal(changeUsers(burst), users) {
				t.Fatalf("09:00 batch users = %v, want %v (sorted)", changeUsers(burst), users)
			}
			for _, ch := range burst {
				if ch.Current.Availability != Busy || ch.Previous == nil || ch.Previous.Availability != Available || !ch.At.Equal(at("2025-11-24 09:00")) {
					t.Errorf("change = %+v, want available → busy at 09:00", ch)
				}
			}
			saves := st.saveBatches()
			if len(saves) != 2 || !slices.Equal(saves[1], users) {
				t.Errorf("SavePresences calls = %v, want one per instant with all %d users", saves, n)
			}
			if len(h.rec.all()) != 0 {
				t.Error("Publish was called although PublishBatch is set")
			}
		})
	}
}

func TestSchedulerBatchSavesAfterPublishing(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	burstUsers(src, 3)
	st := &orderCheckingStore{}
	h := newHarness(t, c, src)
	h.run(SchedulerOptions{Rules: mustCompile(t, RuleSet{}), Source: src, Store: st,
		PublishBatch: func(cs []Change) error { st.published(len(cs)); return nil }})
	h.advanceTo("2025-11-24 09:00")
	h.advanceTo("2025-11-24 10:00")
	if want := []string{"publish 3", "save 3", "publish 3", "save 3", "publish 3", "save 3"}; !slices.Equal(st.events(), want) {
		t.Errorf("order = %v, want %v", st.events(), want)
	}
}

// orderCheckingStore logs publications and saves in the order they happen.
type orderCheckingStore struct {
	mapPresenceStore
	logMu sync.Mutex
	log   []string
}

func (o *orderCheckingStore) published(n int) {
	o.logMu.Lock()
	defer o.logMu.Unlock()
	o.log = append(o.log, fmt.Sprint("publish ", n))
}

func (o *orderCheckingStore) SavePresences(ctx context.Context, docs map[string][]byte) error {
	o.logMu.Lock()
	o.log = append(o.log, fmt.Sprint("save ", len(docs)))
	o.logMu.Unlock()
	return o.mapPresenceStore.SavePresences(ctx, docs)
}

func (o *orderCheckingStore) events() []string {
	o.logMu.Lock()
	defer o.logMu.Unlock()
	return slices.Clone(o.log)
}

func TestSchedulerBatchPublishesAtLeastOnce(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:30"))
	src := newFakeSource()
	users := burstUsers(src, 4)
	st := &mapPresenceStore{}
	h1, _ := startBatchScheduler(t, c, src, st)
	h1.stop()

	// The 09:00 burst is published but saving it fails.
	lossy := &failingStore{}
	lossy.docs = st.docs
	h2, rec2 := startBatchScheduler(t, c, src, lossy)
	h2.advanceTo("2025-11-24 09:00")
	if got := rec2.all(); len(got) != 1 || !slices.Equal(changeUsers(got[0]), users) {
		t.Fatalf("09:00 batches = %v", got)
	}
	// The failure does not stop the next bursts from being published.
	h2.advanceTo("2025-11-24 10:00")
	h2.advanceTo("2025-11-24 11:00")
	if got := rec2.all(); len(got) != 3 || !slices.Equal(changeUsers(got[1]), users) || got[1][0].Current.Availability != Available ||
		!slices.Equal(changeUsers(got[2]), users) || got[2][0].Current.Availability != Busy {
		t.Fatalf("batches at 09:00, 10:00, 11:00 = %v", got)
	}
	h2.stop()

	// Restarted at 11:30 with the last saved state (available at 08:30):
	// the unsaved busy change is published again, all users in one batch.
	c.Set(at("2025-11-24 11:30"))
	h3, rec3 := startBatchScheduler(t, c, src, st)
	got := rec3.all()
	if len(got) != 1 || !slices.Equal(changeUsers(got[0]), users) {
		t.Fatalf("after restart batches = %v, want one with %v", got, users)
	}
	for _, ch := range got[0] {
		if ch.Current.Availability != Busy || ch.Previous == nil || ch.Previous.Availability != Available {
			t.Errorf("after restart change = %+v, want the unsaved available → busy again", ch)
		}
	}
	h3.stop()
}

// TestSchedulerRepublishesWhatItsReceiverCouldNotMakeDurable: when
// PublishBatch fails (the webhook outbox write failed), nothing is saved
// and the same changes are published again after RetryDelay, with the
// previous presence still the one last delivered.
func TestSchedulerRepublishesWhatItsReceiverCouldNotMakeDurable(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	users := burstUsers(src, 3)
	st := &orderCheckingStore{}
	var mu sync.Mutex
	var batches [][]Change
	fail := false
	h := newHarness(t, c, src)
	h.run(SchedulerOptions{Rules: mustCompile(t, RuleSet{}), Source: src, Store: st, RetryDelay: 30 * time.Second,
		PublishBatch: func(cs []Change) error {
			st.published(len(cs))
			mu.Lock()
			defer mu.Unlock()
			batches = append(batches, slices.Clone(cs))
			if fail {
				fail = false
				return fmt.Errorf("outbox: disk full")
			}
			return nil
		}})
	mu.Lock()
	fail = true
	mu.Unlock()
	h.advanceTo("2025-11-24 09:00")
	if want := []string{"publish 3", "save 3", "publish 3"}; !slices.Equal(st.events(), want) {
		t.Fatalf("after the failed 09:00 publication: %v, want %v (nothing saved)", st.events(), want)
	}
	c.Set(at("2025-11-24 09:00").Add(30 * time.Second))
	h.waitIdle()
	if want := []string{"publish 3", "save 3", "publish 3", "publish 3", "save 3"}; !slices.Equal(st.events(), want) {
		t.Fatalf("after the retry delay: %v, want %v", st.events(), want)
	}
	mu.Lock()
	retry := batches[len(batches)-1]
	mu.Unlock()
	if !slices.Equal(changeUsers(retry), users) {
		t.Errorf("republished users %v, want %v", changeUsers(retry), users)
	}
	for _, ch := range retry {
		if ch.Current.Availability != Busy || ch.Previous == nil || ch.Previous.Availability != Available {
			t.Errorf("republished change %s: %v → %v, want available → busy", ch.User, ch.Previous, ch.Current.Availability)
		}
	}
}
