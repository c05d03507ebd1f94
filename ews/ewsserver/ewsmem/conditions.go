package ewsmem

import "time"

// Conditions are the operating conditions the model consults while it
// works, where a fault cannot be put in front of it as a decorator: how
// long one item of a batch takes to execute, whether streaming connections
// have gone silent, whether proxied subscription calls fail. The
// simulator's fault injection supplies them (ewssim); nil means a healthy
// farm.
type Conditions interface {
	// ItemLatency is the simulated execution time of one item of a GetItem,
	// CreateItem, UpdateItem or DeleteItem batch; it counts against
	// Options.BatchTimeLimit.
	ItemLatency() time.Duration
	// StreamsSilent stops heartbeats and events on streaming connections.
	StreamsSilent() bool
	// ProxyFailing makes subscription calls that a server must proxy to
	// the subscription's server fail with ErrorProxiedSubscriptionCallFailure.
	ProxyFailing() bool
}

// healthy is the Conditions of a farm without faults.
type healthy struct{}

func (healthy) ItemLatency() time.Duration { return 0 }
func (healthy) StreamsSilent() bool        { return false }
func (healthy) ProxyFailing() bool         { return false }
