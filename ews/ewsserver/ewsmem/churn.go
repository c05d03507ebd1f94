package ewsmem

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

func sortItems(items []*item) {
	sort.Slice(items, func(i, j int) bool { return items[i].id < items[j].id })
}

func instancesNear(it *item, now time.Time) ([]ewsserver.Instance, error) {
	return ewsserver.InstancesBetween(it.data.Recurrence, it.data.Start, it.data.End.Sub(it.data.Start), it.data.IsAllDayEvent, it.location(), now, now.Add(7*24*time.Hour))
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
func (x *Exchange) StartChurn(perSecond float64, seed uint64) error {
	if perSecond <= 0 || perSecond > 100000 {
		return fmt.Errorf("ewsmem: churn rate %v out of range (0, 100000]", perSecond)
	}
	x.StopChurn()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	x.churn.mu.Lock()
	x.churn.cancel, x.churn.done, x.churn.rate = cancel, done, perSecond
	x.churn.mu.Unlock()
	rng := rand.New(rand.NewPCG(seed, seed^0xc0ffee))
	go func() {
		defer close(done)
		x.runChurn(ctx, perSecond, rng)
	}()
	return nil
}

// StopChurn stops the change generator and waits for it.
func (x *Exchange) StopChurn() {
	x.churn.mu.Lock()
	cancel, done := x.churn.cancel, x.churn.done
	x.churn.cancel, x.churn.done = nil, nil
	x.churn.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (x *Exchange) runChurn(ctx context.Context, perSecond float64, rng *rand.Rand) {
	// Tick at most 20 times a second and make the changes due since the
	// last tick, so high rates do not need a timer per change.
	tick := time.Duration(float64(time.Second) / perSecond)
	if tick < 50*time.Millisecond {
		tick = 50 * time.Millisecond
	}
	last := x.clock.Now()
	var owed float64
	for {
		t := x.clock.NewTimer(tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		now := x.clock.Now()
		owed += now.Sub(last).Seconds() * perSecond
		last = now
		for owed >= 1 {
			owed--
			x.churnOnce(rng)
		}
	}
}

// churnOnce makes one random change in a random user mailbox.
func (x *Exchange) churnOnce(rng *rand.Rand) {
	addrs := x.Mailboxes()
	if len(addrs) < 2 {
		return
	}
	mb, _ := x.mailbox(addrs[1+rng.IntN(len(addrs)-1)])
	mb.mu.Lock()
	defer mb.mu.Unlock()
	now := x.clock.Now().UTC().Truncate(time.Minute)
	var singles, masters []*item
	for _, it := range mb.items {
		if it.data.Recurrence == nil {
			singles = append(singles, it)
		} else {
			masters = append(masters, it)
		}
	}
	sortItems(singles)
	sortItems(masters)
	switch r := rng.IntN(10); {
	case r < 4 || len(singles) == 0:
		start := now.Add(time.Duration(rng.IntN(7*24*4)) * 15 * time.Minute)
		_, _ = mb.createLocked(ews.CalendarItem{Subject: fmt.Sprintf("Ad-hoc meeting %d", rng.IntN(1000)), Start: start,
			End: start.Add(time.Duration(1+rng.IntN(4)) * 15 * time.Minute), IsMeeting: rng.IntN(2) == 0,
			LegacyFreeBusyStatus: []ews.FreeBusyStatus{ews.FreeBusyBusy, ews.FreeBusyTentative, ews.FreeBusyOOF}[rng.IntN(3)]})
	case r < 7:
		it := singles[rng.IntN(len(singles))]
		shift := time.Duration(rng.IntN(9)-4) * 15 * time.Minute
		_, _, _ = mb.updateLocked(ews.ItemRef{Item: &ews.ItemId{Id: it.id}}, []ewsserver.FieldUpdate{
			{FieldURI: "calendar:Start", Value: ews.CalendarItem{Start: it.data.Start.Add(shift)}},
			{FieldURI: "calendar:End", Value: ews.CalendarItem{End: it.data.End.Add(shift)}},
			{FieldURI: "item:Subject", Value: ews.CalendarItem{Subject: it.data.Subject}},
		}, "AlwaysOverwrite")
	case r < 9:
		if len(singles) > 3 {
			mb.deleteLocked(singles[rng.IntN(len(singles))])
		}
	default:
		if len(masters) > 0 {
			it := masters[rng.IntN(len(masters))]
			ins, _ := instancesNear(it, now)
			if len(ins) > 0 {
				in := ins[rng.IntN(len(ins))]
				_, _, _ = mb.updateLocked(ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: it.id, InstanceIndex: in.Index}},
					[]ewsserver.FieldUpdate{{FieldURI: "calendar:LegacyFreeBusyStatus", Value: ews.CalendarItem{LegacyFreeBusyStatus: ews.FreeBusyTentative}}}, "AlwaysOverwrite")
			}
		}
	}
	x.churn.mu.Lock()
	x.churn.changes++
	x.churn.mu.Unlock()
}
