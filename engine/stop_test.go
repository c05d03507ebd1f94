package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/calsync/calsync/store/memstore"
)

// TestStopStoresEveryStatusWithOneCall: a stopping engine stores each
// mailbox's "stopped" status, all with one SaveStatuses call after the
// workers ended, instead of one SaveStatus per mailbox (50,000 writes at
// a large instance's stop).
func TestStopStoresEveryStatusWithOneCall(t *testing.T) {
	fx := newFakeExchange()
	var mailboxes []string
	for i := range 30 {
		smtp := fmt.Sprintf("user%02d@example.org", i)
		fx.put(smtp, occ("i"+smtp, "Standup", 1))
		mailboxes = append(mailboxes, smtp)
	}
	st := &writeCountingStore{Store: memstore.New()}
	h := start(t, fx, st, mailboxes, nil)
	for _, smtp := range mailboxes {
		h.waitState(smtp, StateLive)
	}
	before := map[string]int{}
	for _, smtp := range mailboxes {
		w, _ := st.snapshot(smtp)
		before[smtp] = len(w)
	}
	h.stop()
	if st.batches != 1 {
		t.Errorf("SaveStatuses calls at the stop = %d, want 1", st.batches)
	}
	for _, smtp := range mailboxes {
		w, _ := st.snapshot(smtp)
		if got := w[before[smtp]:]; !slices.Equal(got, []string{"SaveStatuses"}) {
			t.Errorf("%s: writes at the stop %v (all %v), want its status in the one batch", smtp, got, w)
		}
		rec, err := st.Mailbox(t.Context(), smtp)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status.State != StateStopped {
			t.Errorf("%s: stored state %q, want %q", smtp, rec.Status.State, StateStopped)
		}
	}
}
