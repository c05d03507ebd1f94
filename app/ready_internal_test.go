package app

import "testing"

// /readyz shows the readiness error in JSON: counts read as text, not as
// a Go map ("map[backoff:50]").
func TestStateSummaryIsText(t *testing.T) {
	got := stateSummary(map[string]int{"loading": 3, "backoff": 50})
	if got != "50 backoff, 3 loading" {
		t.Errorf("stateSummary = %q", got)
	}
}
