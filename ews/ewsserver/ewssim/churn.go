package ewssim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

// instancesNear expands a recurring master over the week from now.
func instancesNear(c ews.CalendarItem, now time.Time) ([]ewsserver.Instance, error) {
	loc, err := ewsserver.LoadWindowsZone(c.StartTimeZone)
	if err != nil {
		loc = time.UTC
	}
	return ewsserver.InstancesBetween(c.Recurrence, c.Start, c.End.Sub(c.Start), c.IsAllDayEvent, loc, now, now.Add(7*24*time.Hour))
}

// churnState runs the change generator.
type churnState struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	changes int64
	rate    float64
}

func (c *churnState) status() (bool, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancel != nil, c.changes
}

// StartChurn makes perSecond random calendar changes per second (creates,
// moves, renames, deletes of single items and occurrence exceptions) spread
// over the user mailboxes, through the same code paths as EWS writes, so
// they produce notifications and sync changes. A running churn is replaced.
func (s *Simulator) StartChurn(perSecond float64, seed uint64) error {
	if perSecond <= 0 || perSecond > 100000 {
		return fmt.Errorf("ewssim: churn rate %v out of range (0, 100000]", perSecond)
	}
	s.StopChurn()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.churn.mu.Lock()
	s.churn.cancel, s.churn.done, s.churn.rate = cancel, done, perSecond
	s.churn.mu.Unlock()
	rng := rand.New(rand.NewPCG(seed, seed^0xc0ffee))
	go func() {
		defer close(done)
		s.runChurn(ctx, perSecond, rng)
	}()
	return nil
}

// StopChurn stops the change generator and waits for it.
func (s *Simulator) StopChurn() {
	s.churn.mu.Lock()
	cancel, done := s.churn.cancel, s.churn.done
	s.churn.cancel, s.churn.done = nil, nil
	s.churn.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *Simulator) runChurn(ctx context.Context, perSecond float64, rng *rand.Rand) {
	// Tick at most 20 times a second and make the changes due since the
	// last tick, so high rates do not need a timer per change.
	tick := time.Duration(float64(time.Second) / perSecond)
	if tick < 50*time.Millisecond {
		tick = 50 * time.Millisecond
	}
	// Paced by the injected clock: moving the simulator's now (SetNow,
	// AdvanceClock) must not owe a burst of changes.
	last := s.clock.base.Now()
	var owed float64
	for {
		t := s.clock.NewTimer(tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		now := s.clock.base.Now()
		owed += now.Sub(last).Seconds() * perSecond
		last = now
		for owed >= 1 {
			owed--
			s.churnOnce(rng)
		}
	}
}

// churnOnce makes one random change in a random user mailbox.
func (s *Simulator) churnOnce(rng *rand.Rand) {
	addrs := s.Mailboxes()
	if len(addrs) < 2 {
		return
	}
	smtp := addrs[1+rng.IntN(len(addrs)-1)]
	items, err := s.CalendarItems(smtp)
	if err != nil {
		return
	}
	now := s.clock.Now().UTC().Truncate(time.Minute)
	var singles, masters []ews.CalendarItem
	for _, it := range items {
		if it.Recurrence == nil {
			singles = append(singles, it)
		} else {
			masters = append(masters, it)
		}
	}
	switch r := rng.IntN(10); {
	case r < 4 || len(singles) == 0:
		start := now.Add(time.Duration(rng.IntN(7*24*4)) * 15 * time.Minute)
		_, _ = s.AddCalendarItem(smtp, ews.CalendarItem{Subject: fmt.Sprintf("Ad-hoc meeting %d", rng.IntN(1000)), Start: start,
			End: start.Add(time.Duration(1+rng.IntN(4)) * 15 * time.Minute), IsMeeting: rng.IntN(2) == 0,
			LegacyFreeBusyStatus: []ews.FreeBusyStatus{ews.FreeBusyBusy, ews.FreeBusyTentative, ews.FreeBusyOOF}[rng.IntN(3)]})
	case r < 7:
		it := singles[rng.IntN(len(singles))]
		shift := time.Duration(rng.IntN(9)-4) * 15 * time.Minute
		start, end := it.Start.Add(shift), it.End.Add(shift)
		_, _ = s.UpdateCalendarItem(smtp, ews.ItemRef{Item: &ews.ItemId{Id: it.ItemId.Id}}, ewsmem.ItemChange{Start: &start, End: &end, Subject: &it.Subject})
	case r < 9:
		if len(singles) > 3 {
			_ = s.DeleteCalendarItem(smtp, ews.ItemRef{Item: &ews.ItemId{Id: singles[rng.IntN(len(singles))].ItemId.Id}})
		}
	default:
		if len(masters) > 0 {
			it := masters[rng.IntN(len(masters))]
			ins, _ := instancesNear(it, now)
			if len(ins) > 0 {
				in := ins[rng.IntN(len(ins))]
				tentative := ews.FreeBusyTentative
				_, _ = s.UpdateCalendarItem(smtp, ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: it.ItemId.Id, InstanceIndex: in.Index}},
					ewsmem.ItemChange{FreeBusy: &tentative})
			}
		}
	}
	s.churn.mu.Lock()
	s.churn.changes++
	s.churn.mu.Unlock()
}
