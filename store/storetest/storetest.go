// Package storetest is the conformance suite every store.Store
// implementation must pass. An implementation's test calls Run with a
// factory that returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
//	}
//
// Persistent stores add WithReopen so that the suite also proves that what
// was written survives closing and reopening the same file or database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// Factory returns a new, empty store. The suite closes it (Close errors
// after the suite's own Close are ignored); the factory may register its own
// cleanup with t.Cleanup.
type Factory func(t *testing.T) store.Store

// Reopen closes s and returns a store opened on the same underlying data.
type Reopen func(t *testing.T, s store.Store) store.Store

// Option adjusts the suite.
type Option func(*suite)

// WithReopen enables the persistence tests: data written before reopen must
// be read back unchanged afterwards.
func WithReopen(r Reopen) Option { return func(s *suite) { s.reopen = r } }

type suite struct {
	factory Factory
	reopen  Reopen
}

// Run runs the whole conformance suite as subtests of t.
func Run(t *testing.T, factory Factory, opts ...Option) {
	s := &suite{factory: factory}
	for _, o := range opts {
		o(s)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"CommitWindowReplacesExactSet", testCommitReplaces},
		{"CommitWindowDropsOutsideWindow", testCommitDropsOutside},
		{"FailedCommitKeepsOldState", testFailedCommitKeepsOldState},
		{"CommitWindowNormalizesToUTC", testCommitNormalizes},
		{"CommitWindowCarriesStatus", testCommitCarriesStatus},
		{"CommitWindowCarriesOOF", testCommitCarriesOOF},
		{"OccurrencesOverlapQuery", testOccurrencesQuery},
		{"SaveCheckpointKeepsOccurrences", testSaveCheckpoint},
		{"StatusAndOOFRoundTrip", testStatusAndOOF},
		{"SaveStatusesInBatches", testSaveStatuses},
		{"MailboxesSorted", testMailboxesSorted},
		{"DeleteMailbox", testDeleteMailbox},
		{"NotFound", testNotFound},
		{"Leases", testLeases},
		{"Presence", testPresence},
		{"PresenceBatch", testPresenceBatch},
		{"Documents", testDocuments},
		{"CallersCannotMutateStoredData", testIsolation},
		{"OutboxEnqueue", testOutboxEnqueue},
		{"OutboxDueOrderPerKey", testOutboxDueOrder},
		{"OutboxDueRespectsNextAttempt", testOutboxNextAttempt},
		{"OutboxFailureAndDeadLetter", testOutboxDeadLetter},
		{"OutboxDeliveredAndStats", testOutboxDeliveredStats},
		{"DeadLettersListAndPage", testDeadLettersList},
		{"RequeueDeadLetterKeepsIDAndPlace", testRequeueOne},
		{"RequeueDeadLettersOfEndpoint", testRequeueAll},
		{"RequeueUnknownIDIsNotFound", testRequeueUnknown},
		{"ConcurrentMailboxes", testConcurrent},
		{"CancelledContext", testCancelledContext},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := s.factory(t)
			t.Cleanup(func() { _ = st.Close() })
			tc.fn(t, st)
		})
	}
	if s.reopen != nil {
		t.Run("Reopen", func(t *testing.T) { testReopen(t, s) })
	}
}

// base is the suite's reference instant: a Monday at midnight UTC.
var base = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// berlin is a fixed +01:00 zone used to check that instants come back in UTC.
var berlin = time.FixedZone("CET", 3600)

func at(h float64) time.Time { return base.Add(time.Duration(h * float64(time.Hour))) }

func window(fromHour, toHour float64) calendar.Window {
	return calendar.Window{Start: at(fromHour), End: at(toHour)}
}

// occ builds an occurrence from hour offsets relative to base.
func occ(id string, fromHour, toHour float64) calendar.Occurrence {
	return calendar.Occurrence{
		ItemID:      id,
		ChangeKey:   "ck-" + id,
		UID:         "uid-" + id,
		Kind:        calendar.KindSingle,
		Subject:     "Subject " + id,
		Location:    "Room " + id,
		Organizer:   "boss@example.com",
		Categories:  []string{"Blue", "Work"},
		Start:       at(fromHour),
		End:         at(toHour),
		TimeZone:    "Europe/Berlin",
		FreeBusy:    calendar.Busy,
		Sensitivity: calendar.Normal,
		Response:    calendar.ResponseAccept,
		IsMeeting:   true,
	}
}

func checkpoint(w calendar.Window, state string) store.Checkpoint {
	return store.Checkpoint{
		Window:           w,
		SyncState:        state,
		SubscriptionID:   "sub-" + state,
		Watermark:        "wm-" + state,
		NotificationMode: "pull",
		LoadedAt:         at(-1),
	}
}

func ctxT(t *testing.T) context.Context { return t.Context() }

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func commit(t *testing.T, st store.Store, smtp string, cp store.Checkpoint, occs ...calendar.Occurrence) {
	t.Helper()
	must(t, st.CommitWindow(ctxT(t), smtp, store.WindowCommit{Occurrences: occs, Checkpoint: cp}), "CommitWindow "+smtp)
}

func ids(occs []calendar.Occurrence) []string {
	out := make([]string, 0, len(occs))
	for _, o := range occs {
		out = append(out, o.ItemID)
	}
	return out
}

func allOccurrences(t *testing.T, st store.Store, smtp string) []calendar.Occurrence {
	t.Helper()
	occs, err := st.Occurrences(ctxT(t), smtp, at(-24*365), at(24*365))
	must(t, err, "Occurrences "+smtp)
	return occs
}

func wantIDs(t *testing.T, what string, got []calendar.Occurrence, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if g := ids(got); !reflect.DeepEqual(g, want) {
		t.Errorf("%s: item ids %v, want %v", what, g, want)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func diff(what string, got, want any) error {
	if reflect.DeepEqual(got, want) {
		return nil
	}
	return fmt.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
}
