package bench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clusterrig"
)

// What decides a failover's length on a given machine, besides the lease
// TTL, is how many requests the survivors keep in flight: their adaptive
// budget limit (calsync_engine_budget_concurrency_limit). On a starved
// host it sat at 1–2 and re-verifying took minutes; the bench samples it
// so that a quiet-machine run shows whether the limit or the requests
// bound the time.

const limitMetric = "calsync_engine_budget_concurrency_limit"

// limitStats is one survivor's budget limit over the failover.
type limitStats struct {
	Min, Max float64
	sum      float64
	N        int
}

func (s limitStats) mean() float64 {
	if s.N == 0 {
		return 0
	}
	return s.sum / float64(s.N)
}

func (s limitStats) String() string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f / %.1f / %.0f", s.Min, s.mean(), s.Max)
}

// sampleLimits reads every running instance's budget limit every d until
// the returned stop is called, which returns the figures by instance.
func sampleLimits(ctx context.Context, rig *clusterrig.Rig, d time.Duration) (stop func() map[string]limitStats) {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	out := map[string]limitStats{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			for _, in := range rig.Instances() {
				if !in.Running() {
					continue
				}
				m, err := metrics(ctx, in, limitMetric)
				if err != nil {
					continue // a busy instance answers next time
				}
				v := m[limitMetric]
				mu.Lock()
				s := out[in.ID]
				if s.N == 0 || v < s.Min {
					s.Min = v
				}
				s.Max = max(s.Max, v)
				s.sum += v
				s.N++
				out[in.ID] = s
				mu.Unlock()
			}
			if sleepCtx(ctx, d) != nil {
				return
			}
		}
	}()
	return func() map[string]limitStats {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(out)
	}
}

func fmtLimits(m map[string]limitStats) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, id+" "+m[id].String())
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// loadAverage is the machine's 1/5/15-minute load average ("" where
// /proc/loadavg does not exist): the figures of a shared machine need it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
