package ewssim

import "github.com/calsync/calsync/ews/ewsserver/ewsmem"

// Stats is a snapshot of the simulator's counters (GET /sim/v1/stats): the
// model's, with the requests injected faults answered added in, and churn.
type Stats struct {
	ewsmem.Stats
	ChurnRunning bool  `json:"churn_running"`
	ChurnChanges int64 `json:"churn_changes"`
}

// Stats returns the current counters.
func (s *Simulator) Stats() Stats {
	st := Stats{Stats: s.Exchange.Stats()}
	s.faults.mu.Lock()
	add(&st.Requests, s.faults.requests)
	add(&st.Throttled, s.faults.throttled)
	add(&st.ThrottledByOperation, s.faults.throttledByOp)
	for _, n := range s.faults.requests {
		st.RequestsTotal += n
	}
	s.faults.mu.Unlock()
	st.ChurnRunning, st.ChurnChanges = s.churn.status()
	return st
}

func add(dst *map[string]int64, src map[string]int64) {
	if *dst == nil {
		*dst = map[string]int64{}
	}
	for k, v := range src {
		(*dst)[k] += v
	}
}
