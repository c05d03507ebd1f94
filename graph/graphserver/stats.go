package graphserver

import "sync/atomic"

// stats counts what the simulator's statistics report for Graph.
type stats struct {
	delivered, failed atomic.Int64
}

func (st *stats) delivery(ok bool) {
	if ok {
		st.delivered.Add(1)
	} else {
		st.failed.Add(1)
	}
}

// Stats are counters of the Graph face.
type Stats struct {
	Subscriptions          int   `json:"subscriptions"`
	NotificationsDelivered int64 `json:"notification_posts_delivered"`
	NotificationsFailed    int64 `json:"notification_posts_failed"`
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	return Stats{Subscriptions: len(s.subs.live(s.now())), NotificationsDelivered: s.stats.delivered.Load(), NotificationsFailed: s.stats.failed.Load()}
}
