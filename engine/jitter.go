package engine

import (
	"math/rand/v2"
	"sync"
	"time"
)

// jitterSource spreads delays so that thousands of mailboxes do not act in
// step. Options.Seed makes it deterministic in tests. Safe for concurrent use.
type jitterSource struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newJitterSource(seed int64) *jitterSource {
	s := uint64(seed)
	if seed == 0 {
		s = rand.Uint64()
	}
	return &jitterSource{rng: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))}
}

// jitter returns a duration uniformly drawn from [d*(1-frac), d].
func (j *jitterSource) jitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 {
		return 0
	}
	j.mu.Lock()
	f := j.rng.Float64()
	j.mu.Unlock()
	return d - time.Duration(float64(d)*frac*f)
}

// expBackoff returns base·2^(n-1), capped at limit.
func expBackoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
