package engine

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store/memstore"
)

// TestBudgetLimitIsTheGauge: Engine.BudgetLimit (read by the bench every
// 100 ms instead of gathering every metric) says what the
// calsync_engine_budget_concurrency_limit gauge says, also after the limit
// changed.
func TestBudgetLimitIsTheGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(Options{Store: memstore.New(), Exchange: newFakeExchange(), Clock: clock.NewFake(t0), Registerer: reg,
		Budget: BudgetConfig{Concurrency: 12, PerServer: 12, PerUser: 2, RequestsPerSecond: 100}})
	if err != nil {
		t.Fatal(err)
	}
	gauge := func() int {
		var m dto.Metric
		if err := e.metrics.budgetLimit.Write(&m); err != nil {
			t.Fatal(err)
		}
		return int(m.GetGauge().GetValue())
	}
	if got, want := e.BudgetLimit(), gauge(); got != 12 || got != want {
		t.Fatalf("BudgetLimit() = %d, gauge %d; want 12 both", got, want)
	}
	e.budget.after("u@example.org", "s", &ExchangeError{Code: "ErrorExceededConnectionCount"})
	if got, want := e.BudgetLimit(), gauge(); got >= 12 || got != want {
		t.Fatalf("after ErrorExceededConnectionCount: BudgetLimit() = %d, gauge %d; want both below 12 and equal", got, want)
	}
}
