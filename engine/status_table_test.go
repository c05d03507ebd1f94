package engine

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/store"
)

// TestStatusChangeAllocatesNothing: a status change of a mailbox without
// an error allocates nothing — every worker changes its status several
// times during a load; the status fn edits used to be moved to the heap.
// The change itself is applied and reported as it was.
func TestStatusChangeAllocatesNothing(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	tab := newStatusTable(m, nil)
	tab.create("alice@example.org")
	states := []string{StateLoading, StateLive}
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		i++
		if _, _, ok := tab.apply("alice@example.org", func(st *store.MailboxStatus) { st.State, st.Occurrences = states[i%2], i }); !ok {
			t.Fatal("apply found no entry")
		}
	})
	if allocs != 0 {
		t.Errorf("a status change allocated %v times, want 0", allocs)
	}
	st, changed, ok := tab.apply("alice@example.org", func(st *store.MailboxStatus) { st.State = StateBackoff })
	if !ok || !changed || st.State != StateBackoff || st.SMTP != "alice@example.org" || st.Occurrences != i {
		t.Fatalf("apply = %+v, changed %v, ok %v; want backoff with the earlier occurrences kept", st, changed, ok)
	}
	if got, _ := tab.get("alice@example.org"); got.State != StateBackoff {
		t.Fatalf("stored state %q, want backoff", got.State)
	}
}
