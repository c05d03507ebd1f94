package ewsmem

import (
	"sync"
)

type statsState struct {
	mu            sync.Mutex
	requests      map[string]int64
	autodiscover  int64
	throttledByOp map[string]int64
	streamsOpen   int
	streamsTotal  int64
	events        int64
	pushes        int64
	pushFailures  int64
}

func (s *statsState) init() {
	s.requests = map[string]int64{}
	s.throttledByOp = map[string]int64{}
}

func (s *statsState) request(op string) {
	s.mu.Lock()
	s.requests[op]++
	s.mu.Unlock()
}

// autodiscoverRequest counts a GetUserSettings request: Autodiscover is a
// service of its own, so it is not among the EWS requests.
func (s *statsState) autodiscoverRequest() {
	s.mu.Lock()
	s.autodiscover++
	s.mu.Unlock()
}

func (s *statsState) throttled(op string) {
	s.mu.Lock()
	s.throttledByOp[op]++
	s.mu.Unlock()
}

func (s *statsState) streamOpened() {
	s.mu.Lock()
	s.streamsOpen++
	s.streamsTotal++
	s.mu.Unlock()
}

func (s *statsState) streamClosed() {
	s.mu.Lock()
	s.streamsOpen--
	s.mu.Unlock()
}

func (s *statsState) eventsDelivered(n int) {
	s.mu.Lock()
	s.events += int64(n)
	s.mu.Unlock()
}

func (s *statsState) push(ok bool) {
	s.mu.Lock()
	if ok {
		s.pushes++
	} else {
		s.pushFailures++
	}
	s.mu.Unlock()
}

// Stats is a snapshot of the model's counters (part of GET /sim/v1/stats).
type Stats struct {
	Mailboxes     int              `json:"mailboxes"`
	Servers       []string         `json:"servers"`
	Policy        string           `json:"policy"`
	Requests      map[string]int64 `json:"requests"`
	RequestsTotal int64            `json:"requests_total"`
	// AutodiscoverRequests counts GetUserSettings requests (SOAP
	// Autodiscover), which Requests and RequestsTotal leave out.
	AutodiscoverRequests     int64            `json:"autodiscover_requests"`
	Throttled                map[string]int64 `json:"throttled"`
	ThrottledByOperation     map[string]int64 `json:"throttled_by_operation"`
	Subscriptions            int              `json:"subscriptions"`
	SubscriptionsByKind      map[string]int   `json:"subscriptions_by_kind"`
	StreamingConnections     int              `json:"streaming_connections"`
	StreamingConnectionsEver int64            `json:"streaming_connections_total"`
	StreamedEvents           int64            `json:"streamed_events"`
	PushNotifications        int64            `json:"push_notifications"`
	PushFailures             int64            `json:"push_failures"`
}

// Stats returns the current counters.
func (x *Exchange) Stats() Stats {
	st := Stats{Mailboxes: len(x.Mailboxes()), Servers: x.Servers(), Policy: x.Policy().Name}
	st.Throttled, _ = x.throttle.stats()
	st.Subscriptions, st.SubscriptionsByKind = x.subscriptionCount()
	x.stats.mu.Lock()
	st.Requests = make(map[string]int64, len(x.stats.requests))
	for k, v := range x.stats.requests {
		st.Requests[k] = v
		st.RequestsTotal += v
	}
	st.ThrottledByOperation = make(map[string]int64, len(x.stats.throttledByOp))
	for k, v := range x.stats.throttledByOp {
		st.ThrottledByOperation[k] = v
	}
	st.AutodiscoverRequests = x.stats.autodiscover
	st.StreamingConnections = x.stats.streamsOpen
	st.StreamingConnectionsEver = x.stats.streamsTotal
	st.StreamedEvents = x.stats.events
	st.PushNotifications, st.PushFailures = x.stats.pushes, x.stats.pushFailures
	x.stats.mu.Unlock()
	return st
}
