package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// storeCheckingSink reads the store at the moment of each report, as the
// presence scheduler does when it re-plans a user, and records what it
// found there against what was reported.
type storeCheckingSink struct {
	st store.Store

	mu       sync.Mutex
	mismatch []string
	reports  map[string]int
}

func (s *storeCheckingSink) CalendarChanged(smtp string) { s.check(smtp, "", "calendar") }

func (s *storeCheckingSink) StatusChanged(st store.MailboxStatus) {
	s.check(st.SMTP, st.State, "status")
	if st.LastError == nil {
		return
	}
	rec, err := s.st.Mailbox(context.Background(), st.SMTP)
	if err != nil || rec.Status.LastError == nil || rec.Status.LastError.Code != st.LastError.Code {
		s.mu.Lock()
		s.mismatch = append(s.mismatch, fmt.Sprintf("error %s reported for %s before it was stored", st.LastError.Code, st.SMTP))
		s.mu.Unlock()
	}
}

func (s *storeCheckingSink) check(smtp, state, kind string) {
	rec, err := s.st.Mailbox(context.Background(), smtp)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reports == nil {
		s.reports = map[string]int{}
	}
	s.reports[smtp+" "+state]++
	switch {
	case errors.Is(err, store.ErrNotFound):
		if state == StateLive || state == StateBackoff {
			s.mismatch = append(s.mismatch, fmt.Sprintf("%s report %q for %s: nothing stored yet", kind, state, smtp))
		}
	case err != nil:
		s.mismatch = append(s.mismatch, fmt.Sprintf("%s: %v", smtp, err))
	case (state == StateLive || state == StateBackoff) && rec.Status.State != state:
		s.mismatch = append(s.mismatch, fmt.Sprintf("%s report %q for %s: the store still says %q", kind, state, smtp, rec.Status.State))
	case rec.Status.State == StateLive && rec.Status.TimeZone != "America/New_York" && smtp == "ny@example.org":
		s.mismatch = append(s.mismatch, fmt.Sprintf("%s report for %s: stored live without its zone (%q)", kind, smtp, rec.Status.TimeZone))
	}
}

func (s *storeCheckingSink) seen(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reports[key]
}

// The sink's consumers read the store when they hear of a change (the
// presence scheduler re-plans the user from it), so a reported state is
// stored before it is reported: reported first, a first load was published
// in the default zone and then again in the mailbox's own, and a mailbox
// going into back-off could be evaluated as still live.
func TestStatusIsStoredBeforeTheSinkHearsOfIt(t *testing.T) {
	const ny, bob = "ny@example.org", "bob@example.org"
	fx := &zoneExchange{fakeExchange: newFakeExchange(), zones: map[string]string{ny: "America/New_York"}}
	fx.put(ny, occ("n1", "Standup", 1))
	fx.put(bob, occ("b1", "Review", 2))
	st := memstore.New()
	sink := &storeCheckingSink{st: st}
	h := start(t, fx.fakeExchange, st, []string{ny, bob}, func(o *Options) {
		o.Exchange = fx
		o.Sink = sink
	})
	h.waitState(ny, StateLive)
	h.waitState(bob, StateLive)

	var once sync.Once
	fx.mu.Lock()
	fx.fakeExchange.fail = func(op, smtp string) error {
		var err error
		if op == "CalendarView" && smtp == bob {
			once.Do(func() { err = errors.New("connection reset") })
		}
		return err
	}
	fx.mu.Unlock()
	if err := h.e.SyncNow(context.Background(), bob); err == nil {
		t.Fatal("sync-now of bob succeeded, want the injected failure")
	}
	testenv.WaitFor(t, "bob's back-off reported", func() bool { return sink.seen(bob+" "+StateBackoff) > 0 })

	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, m := range sink.mismatch {
		t.Error(m)
	}
}
