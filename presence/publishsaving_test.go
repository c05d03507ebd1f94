package presence

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// atomicPublisher is a PublishSaving whose "transaction" writes the
// published changes and the documents to one place together, and fails
// while failing is set.
type atomicPublisher struct {
	mu      sync.Mutex
	changes []Change
	docs    map[string][]byte
	failing bool
}

func (a *atomicPublisher) publishSaving(cs []Change, docs map[string][]byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failing {
		return errors.New("database: connection lost")
	}
	a.changes = append(a.changes, cs...)
	if a.docs == nil {
		a.docs = map[string][]byte{}
	}
	maps.Copy(a.docs, docs)
	return nil
}

func (a *atomicPublisher) published() ([]Change, map[string][]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.changes), maps.Clone(a.docs)
}

// TestPublishSavingMakesTheChangeAndItsPresenceDurableTogether: with
// PublishSaving the scheduler hands each change over with the document of
// the presence it published, and saves nothing on its own; an instance
// that takes the users over afterwards (AdoptUser with those documents,
// as a cluster's new owner after a crash) publishes nothing at the same
// instant, and the next change names the previous presence. Publishing
// first and saving after, a crash in between left a delivered change the
// new owner did not know, and it published the same presence again as the
// user's first (app TestClusterSharesMailboxesAndTakesOverFromACrashedInstance).
func TestPublishSavingMakesTheChangeAndItsPresenceDurableTogether(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	users := burstUsers(src, 3)
	st := &mapPresenceStore{}
	pub := &atomicPublisher{}
	h := newHarness(t, c, src)
	h.run(SchedulerOptions{Rules: mustCompile(t, RuleSet{}), Source: src, Store: st, PublishSaving: pub.publishSaving})
	changes, docs := pub.published()
	if len(changes) != len(users) || !slices.Equal(slices.Sorted(maps.Keys(docs)), users) {
		t.Fatalf("first publication: %d changes, documents of %v; want %d and %v", len(changes), slices.Sorted(maps.Keys(docs)), len(users), users)
	}
	for _, ch := range changes {
		var p Presence
		if err := json.Unmarshal(docs[ch.User], &p); err != nil || p.Availability != ch.Current.Availability {
			t.Errorf("%s: published %s, document %s (%v)", ch.User, ch.Current.Availability, docs[ch.User], err)
		}
	}
	if b := st.saveBatches(); len(b) != 0 {
		t.Errorf("the scheduler saved %v itself; PublishSaving does", b)
	}
	h.stop() // the instance dies right after the transaction

	next := &atomicPublisher{}
	h2 := newHarness(t, c, src)
	h2.run(SchedulerOptions{Rules: mustCompile(t, RuleSet{}), Source: ownedSource{src}, PublishSaving: next.publishSaving})
	for _, u := range users {
		h2.s.AdoptUser(u, docs[u])
	}
	h2.waitIdle()
	if again, _ := next.published(); len(again) != 0 {
		t.Fatalf("the new owner published %+v again", again)
	}
	h2.advanceTo("2025-11-24 09:00")
	got, _ := next.published()
	if len(got) != len(users) {
		t.Fatalf("09:00: %d changes, want %d", len(got), len(users))
	}
	for _, ch := range got {
		if ch.Previous == nil || ch.Previous.Availability != Available || ch.Current.Availability != Busy {
			t.Errorf("09:00 change of %s: %v → %s, want available → busy", ch.User, ch.Previous, ch.Current.Availability)
		}
	}
}

// ownedSource loads from the shared calendars but lists no user at start:
// a cluster instance plans the users it takes over (AdoptUser).
type ownedSource struct{ *fakeSource }

func (ownedSource) Users(context.Context) ([]string, error) { return nil, nil }

// TestPublishSavingFailureIsPublishedAgain: when the transaction fails,
// nothing is published or saved, and the same change (naming the same
// previous presence) is handed over again after RetryDelay.
func TestPublishSavingFailureIsPublishedAgain(t *testing.T) {
	c := clock.NewFake(at("2025-11-24 08:00"))
	src := newFakeSource()
	users := burstUsers(src, 2)
	pub := &atomicPublisher{}
	h := newHarness(t, c, src)
	h.run(SchedulerOptions{Rules: mustCompile(t, RuleSet{}), Source: src, Store: &mapPresenceStore{},
		RetryDelay: 30 * time.Second, PublishSaving: pub.publishSaving})
	pub.mu.Lock()
	pub.failing = true
	pub.mu.Unlock()
	h.advanceTo("2025-11-24 09:00")
	if got, _ := pub.published(); len(got) != len(users) {
		t.Fatalf("after the failed 09:00 transaction: %d changes durable, want the %d of 08:00", len(got), len(users))
	}
	pub.mu.Lock()
	pub.failing = false
	pub.mu.Unlock()
	c.Set(at("2025-11-24 09:00").Add(30 * time.Second))
	h.waitIdle()
	got, docs := pub.published()
	if len(got) != 2*len(users) {
		t.Fatalf("after the retry: %d changes, want %d", len(got), 2*len(users))
	}
	for _, ch := range got[len(users):] {
		if ch.Previous == nil || ch.Previous.Availability != Available || ch.Current.Availability != Busy {
			t.Errorf("retried change of %s: %v → %s, want available → busy", ch.User, ch.Previous, ch.Current.Availability)
		}
		var p Presence
		if err := json.Unmarshal(docs[ch.User], &p); err != nil || p.Availability != Busy {
			t.Errorf("%s: stored %s after the retry, want busy (%v)", ch.User, docs[ch.User], err)
		}
	}
}
