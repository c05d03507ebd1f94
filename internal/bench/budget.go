package bench

import (
	"fmt"
	"strconv"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/engine"
)

// Budget returns the engine budget of calsync's default configuration
// (as `calsync run` builds it), with requests_per_second set to rate
// ("adaptive" or a number) and max_concurrency to maxConcurrency (0: the
// default), so that the bench measures what an operator gets.
func Budget(rate string, maxConcurrency int) (engine.BudgetConfig, error) {
	d := config.Defaults().Budget
	b := engine.BudgetConfig{Concurrency: d.MaxConcurrency, PerServer: d.PerServer, PerUser: d.PerUser,
		RequestsPerSecond: d.RequestsPerSecond, MaxBackOff: d.MaxBackOff}
	if maxConcurrency > 0 {
		b.Concurrency = maxConcurrency
		b.PerServer = min(b.PerServer, maxConcurrency)
		b.PerUser = min(b.PerUser, b.PerServer)
	}
	if rate != "adaptive" {
		r, err := strconv.ParseFloat(rate, 64)
		if err != nil || !(r >= 0.1 && r <= 10000) {
			return b, fmt.Errorf("%q is not a pace; expected adaptive or requests per second from 0.1 to 10000", rate)
		}
		b.RequestsPerSecond = r
	}
	return b, nil
}

// LimitStats follows the engine's overall concurrency limit
// (calsync_engine_budget_concurrency_limit) during the load.
type LimitStats struct {
	Max, Mean, Last float64
	n               int
}

// sample adds the limit now (Engine.BudgetLimit, the gauge's value: read
// directly, because gathering the registry every 100 ms allocated a
// metric family per engine metric).
func (l *LimitStats) sample(limit int) {
	v := float64(limit)
	l.n++
	l.Mean += (v - l.Mean) / float64(l.n)
	l.Max, l.Last = max(l.Max, v), v
}

func budgetRows(row func(string, func(Result) string)) {
	row("budget: requests in flight allowed during the load, max / mean / at the end", func(r Result) string {
		l := r.BudgetLimit
		return fmt.Sprintf("%.0f / %.1f / %.0f", l.Max, l.Mean, l.Last)
	})
}
