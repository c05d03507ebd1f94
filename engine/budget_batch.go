package engine

import "context"

// A request for many mailboxes at once (the first load's zone batch: 100
// mailboxes' free/busy in one GetUserAvailability) takes the server longer
// than a request for one because it does more work, not because requests
// queue. The adaptive limiter compares every round trip with the observed
// minimum of ordinary ones; fed such a round trip it read the work as
// queueing and cut the limit, once per batch (at 10,000 mailboxes the mean
// limit of the load fell from 4.1 to 2.6). Such requests are marked so
// that their successful round trips are not a latency sample; their
// throttling signals and timeouts still count.

type unsampledKey struct{}

// withoutLatencySample marks ctx's request as a batch whose round trip is
// no latency sample for the adaptive limiter.
func withoutLatencySample(ctx context.Context) context.Context {
	return context.WithValue(ctx, unsampledKey{}, true)
}

// latencySampled reports whether a successful round trip of ctx's request
// is a latency sample.
func latencySampled(ctx context.Context) bool {
	v, _ := ctx.Value(unsampledKey{}).(bool)
	return !v
}
