package bench

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Why the engine read: a load asks one CalendarView per mailbox; the
// engine counts each by reason (engine/metrics.go), and what happened to
// its streaming connections, so that requests beyond one per mailbox show
// their cause in the table instead of being guessed at.
const (
	readsMetric        = "calsync_engine_calendar_view_requests_total"
	streamEventsMetric = "calsync_engine_streaming_connection_events_total"
)

// ReadCauses are the engine's counts up to all-subscribed (single
// instance) or all live (cluster, summed over the instances).
type ReadCauses struct {
	// Reads are CalendarView requests by reason, StreamEvents streaming
	// connection events (cut, silent, open_failed, closed, renewal,
	// rebuild, retire_cut).
	Reads, StreamEvents map[string]int64
}

// readCauses takes the counts from the engine's registry.
func readCauses(reg *prometheus.Registry) ReadCauses {
	c := counters(reg)
	return ReadCauses{Reads: asInts(c[readsMetric]), StreamEvents: asInts(c[streamEventsMetric])}
}

func asInts(m map[string]float64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}

// add sums another instance's counts into c.
func (c *ReadCauses) add(o ReadCauses) {
	if c.Reads == nil {
		c.Reads, c.StreamEvents = map[string]int64{}, map[string]int64{}
	}
	for k, v := range o.Reads {
		c.Reads[k] += v
	}
	for k, v := range o.StreamEvents {
		c.StreamEvents[k] += v
	}
}

// fmtReads renders the reads by reason with their total.
func (c ReadCauses) fmtReads() string {
	var n int64
	for _, v := range c.Reads {
		n += v
	}
	return fmt.Sprintf("%d: %s", n, fmtMap(c.Reads))
}

// fmtStreamEvents renders the connection events, "none" when there were none.
func (c ReadCauses) fmtStreamEvents() string {
	if len(c.StreamEvents) == 0 {
		return "none"
	}
	return fmtMap(c.StreamEvents)
}

// since returns the counts c gained after before.
func (c ReadCauses) since(before ReadCauses) ReadCauses {
	out := ReadCauses{Reads: map[string]int64{}, StreamEvents: map[string]int64{}}
	for k, v := range c.Reads {
		if d := v - before.Reads[k]; d > 0 {
			out.Reads[k] = d
		}
	}
	for k, v := range c.StreamEvents {
		if d := v - before.StreamEvents[k]; d > 0 {
			out.StreamEvents[k] = d
		}
	}
	return out
}
