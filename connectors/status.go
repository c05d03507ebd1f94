package connectors

import "time"

// Status is what the API and dashboard show of a connector.
type Status struct {
	Name string `json:"name"`
	// Connected: the last update got an answer from the server.
	Connected bool `json:"connected"`
	// Unavailable: updates are held back after a target-wide failure
	// (server unreachable, credentials rejected); one probe at a time.
	Unavailable bool      `json:"unavailable"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Live counts the users the server shows a presence for.
	Live int `json:"publications_live"`
	// Queue counts the updates waiting or in flight; InFlight those in flight.
	Queue    int `json:"queue_length"`
	InFlight int `json:"in_flight"`
	// Users counts the users the connector keeps a presence for.
	Users int `json:"users"`
}

// Status returns the connector's current status.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Status{Name: r.opts.Name, Connected: r.connected, Unavailable: r.down, LastError: r.lastErr,
		LastErrorAt: r.lastErrAt, Queue: len(r.queue) + len(r.inflight), InFlight: len(r.inflight), Users: len(r.users)}
	for _, e := range r.users {
		if e.live {
			st.Live++
		}
	}
	return st
}
