package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
)

// TestClaimsGiveEachHeadToOneInstance: two instances asking for due
// messages at the same time never get the same one; a claimed head blocks
// its key for the other until it fails (then anyone may retry) or the
// claim expires (its instance died).
func TestClaimsGiveEachHeadToOneInstance(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	var msgs []store.OutboxMessage
	for k := range 20 {
		for i := range 2 {
			msgs = append(msgs, store.OutboxMessage{Endpoint: "uc", Key: fmt.Sprintf("user%02d", k), EventType: "presence.changed", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		}
	}
	if _, err := s.Enqueue(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	a, b := s.Claiming("calsync-a", time.Minute), s.Claiming("calsync-b", 2*time.Second)
	now := time.Now()
	type result struct {
		got []store.OutboxMessage
		err error
	}
	ra, rb := make(chan result), make(chan result)
	go func() { m, err := a.Due(ctx, "uc", now, 15); ra <- result{m, err} }()
	go func() { m, err := b.Due(ctx, "uc", now, 15); rb <- result{m, err} }()
	resA, resB := <-ra, <-rb
	if resA.err != nil || resB.err != nil {
		t.Fatal(resA.err, resB.err)
	}
	seen := map[string]string{}
	for who, ms := range map[string][]store.OutboxMessage{"a": resA.got, "b": resB.got} {
		for _, m := range ms {
			if prev, ok := seen[m.Key]; ok {
				t.Errorf("key %s given to %s and %s", m.Key, prev, who)
			}
			seen[m.Key] = who
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d of 20 heads handed out (a %d, b %d)", len(seen), len(resA.got), len(resB.got))
	}
	// a asks again: only its own claims; b's heads are not given to it.
	again, err := a.Due(ctx, "uc", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(resA.got) {
		t.Errorf("a sees %d heads, want its own %d", len(again), len(resA.got))
	}
	// b fails one of its heads: it becomes anybody's (a may retry it).
	if len(resB.got) == 0 {
		t.Fatal("b got nothing")
	}
	failed := resB.got[0]
	if err := b.MarkFailed(ctx, failed.ID, store.Failure{Error: "503", At: now, Next: now}); err != nil {
		t.Fatal(err)
	}
	got, err := a.Due(ctx, "uc", now, 0)
	if err != nil || !containsID(got, failed.ID) {
		t.Errorf("after b's failure a does not see %s: %v", failed.ID, err)
	}
	// b's other claims expire after its 2 s: a takes them over, same ids.
	var taken []store.OutboxMessage
	testenv.WaitFor(t, "a holding all 20 heads once b's claims expired", func() bool {
		taken, err = a.Due(ctx, "uc", time.Now(), 100)
		return err == nil && len(taken) == 20
	})
	for _, m := range resB.got {
		if !containsID(taken, m.ID) {
			t.Errorf("b's head %s (key %s) not taken over under its id", m.ID, m.Key)
		}
	}
}

func containsID(ms []store.OutboxMessage, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}
