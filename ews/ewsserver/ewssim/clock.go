package ewssim

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// simClock is the simulator's notion of now: the injected clock moved by
// an offset (Options.Start, SetNow, AdvanceClock), so that DST nights and
// far-future dates can be tested with a real clock running. Timers measure
// durations on the injected clock and are not moved; everything that reads
// now — recurrence expansion, OOF schedules, sync and subscription
// timestamps, the generator and churn — sees the moved instant.
type simClock struct {
	base   clock.Clock
	offset atomic.Int64 // nanoseconds
}

func (c *simClock) Now() time.Time { return c.base.Now().Add(time.Duration(c.offset.Load())) }

func (c *simClock) NewTimer(d time.Duration) clock.Timer { return c.base.NewTimer(d) }

// SetNow moves the simulator's clock to t (later or earlier; the clock
// runs on from there). Moving it back is allowed for tests, but
// subscription timeouts and sync changes keep the later timestamps they
// already carry.
func (s *Simulator) SetNow(t time.Time) {
	s.clock.offset.Store(int64(t.Sub(s.clock.base.Now())))
	s.log.Info("ewssim: clock set", "now", t.UTC().Format(time.RFC3339))
}

// AdvanceClock moves the simulator's clock forward by d (> 0).
func (s *Simulator) AdvanceClock(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("ewssim: clock advance %s must be positive", d)
	}
	s.clock.offset.Add(int64(d))
	s.log.Info("ewssim: clock advanced", "by", d.String(), "now", s.clock.Now().UTC().Format(time.RFC3339))
	return nil
}

// Now returns the simulator's current instant.
func (s *Simulator) Now() time.Time { return s.clock.Now() }
