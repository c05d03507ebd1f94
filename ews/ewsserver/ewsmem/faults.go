package ewsmem

import (
	"fmt"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// FaultKind names an injectable fault.
type FaultKind string

// The faults the simulator can inject on demand.
const (
	// FaultLatency adds Latency to every EWS operation (0 removes it).
	FaultLatency FaultKind = "latency"
	// FaultItemLatency gives every item of a GetItem, CreateItem,
	// UpdateItem or DeleteItem request Latency of simulated execution time
	// (0 removes it); batches running past Options.BatchTimeLimit answer
	// ErrorBatchProcessingStopped for their remaining items.
	FaultItemLatency FaultKind = "item-latency"
	// FaultServerBusy answers Percent % of requests with ErrorServerBusy.
	FaultServerBusy FaultKind = "server-busy"
	// FaultDropStreams cuts every open streaming connection without a
	// final envelope.
	FaultDropStreams FaultKind = "drop-streams"
	// FaultSilentStreams stops heartbeats and events on streaming
	// connections (Enable false resumes them).
	FaultSilentStreams FaultKind = "silent-streams"
	// FaultExpireSubscriptions makes every subscription expire now.
	FaultExpireSubscriptions FaultKind = "expire-subscriptions"
	// FaultRestart simulates a mailbox server restart: all subscriptions
	// and streams are lost, old watermarks become invalid. Server limits it
	// to one server FQDN.
	FaultRestart FaultKind = "restart"
	// FaultMoveMailbox moves Mailbox to another server (Server, or the
	// next one): its subscriptions are lost and Autodiscover changes.
	FaultMoveMailbox FaultKind = "move-mailbox"
	// FaultInvalidateSyncStates makes every existing SyncFolderItems state
	// (of Mailbox, or all) fail with ErrorInvalidSyncStateData.
	FaultInvalidateSyncStates FaultKind = "invalidate-sync-states"
	// FaultUnauthorized answers the next Count requests with HTTP 401.
	FaultUnauthorized FaultKind = "unauthorized"
	// FaultReadEventsFailed makes the next GetEvents of every pull
	// subscription fail with ErrorReadEventsFailed, deleting it.
	FaultReadEventsFailed FaultKind = "read-events-failed"
	// FaultProxyFailure makes subscription calls that a server must proxy
	// to the subscription's server fail with
	// ErrorProxiedSubscriptionCallFailure (Enable false stops it).
	FaultProxyFailure FaultKind = "proxy-failure"
	// FaultInternalServerBusy answers Percent % of requests with HTTP 200,
	// ErrorInternalServerError and MessageXml InnerErrorResponseCode
	// ErrorServerBusy with BackOffMilliseconds, as Exchange sometimes does.
	FaultInternalServerBusy FaultKind = "internal-server-busy"
	// FaultCasError answers the next Count requests with HTTP 500 and an
	// X-CasErrorCode header (a front-end proxy failure).
	FaultCasError FaultKind = "cas-error"
	// FaultErrorPage answers the next Count requests with a 302 redirect to
	// /ews/genericerrorpage.htm.
	FaultErrorPage FaultKind = "error-page"
	// FaultClear removes latency, item latency, busy share, silent streams and pending
	// transport faults.
	FaultClear FaultKind = "clear"
)

// Fault is one fault injection request (also the JSON body of
// POST /sim/v1/faults).
type Fault struct {
	Kind    FaultKind     `json:"kind"`
	Latency time.Duration `json:"-"`
	// LatencyMS is Latency in milliseconds for JSON.
	LatencyMS int    `json:"latency_ms,omitempty"`
	Percent   int    `json:"percent,omitempty"`
	Enable    *bool  `json:"enable,omitempty"`
	Mailbox   string `json:"mailbox,omitempty"`
	Server    string `json:"server,omitempty"`
	Count     int    `json:"count,omitempty"`
}

// FaultResult reports what an injection affected.
type FaultResult struct {
	Affected int    `json:"affected"`
	Detail   string `json:"detail,omitempty"`
}

type faultState struct {
	mu         sync.Mutex
	delay      time.Duration
	itemDelay  time.Duration
	silent     bool
	pending401 int
	pendingCAS int
	pending302 int
	proxyFail  bool
	innerBusy  int // percent
	innerCount int
}

func (f *faultState) latency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delay
}

// itemLatency is the simulated execution time of one batch item.
func (f *faultState) itemLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.itemDelay
}

func (f *faultState) silentStreams() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.silent
}

// proxyFailing reports whether proxied subscription calls fail.
func (f *faultState) proxyFailing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.proxyFail
}

// takeInnerBusy reports whether this request gets the
// ErrorInternalServerError/ErrorServerBusy answer.
func (f *faultState) takeInnerBusy() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.innerBusy <= 0 {
		return nil
	}
	f.innerCount++
	if (f.innerCount*f.innerBusy)%100 >= f.innerBusy {
		return nil
	}
	return ewsserver.Fail(ews.ErrorInternalServerError, "An internal server error occurred. The operation failed., The server cannot service this request right now. Try again later.",
		ews.ValueInnerErrorResponseCode, string(ews.ErrorServerBusy), ews.ValueBackOffMilliseconds, "2000")
}

// takeTransport returns the next pending transport-level fault, or nil.
func (f *faultState) takeTransport() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.pending401 > 0:
		f.pending401--
		return &ews.HTTPError{StatusCode: 401, Status: "401 Unauthorized"}
	case f.pendingCAS > 0:
		f.pendingCAS--
		return &ewsserver.TransportFault{StatusCode: 500, Header: map[string]string{"X-CasErrorCode": "BackEndLocatorFailure"}}
	case f.pending302 > 0:
		f.pending302--
		return &ewsserver.TransportFault{StatusCode: 302, Header: map[string]string{"Location": "/ews/genericerrorpage.htm?aspxerrorpath=/EWS/Exchange.asmx"}}
	}
	return nil
}

// InjectFault applies a fault now.
func (x *Exchange) InjectFault(f Fault) (FaultResult, error) {
	if f.LatencyMS > 0 && f.Latency == 0 {
		f.Latency = time.Duration(f.LatencyMS) * time.Millisecond
	}
	x.log.Info("ewsmem: fault injected", "kind", f.Kind, "mailbox", f.Mailbox, "server", f.Server)
	switch f.Kind {
	case FaultLatency:
		if f.Latency < 0 {
			return FaultResult{}, fmt.Errorf("ewsmem: negative latency")
		}
		x.faults.mu.Lock()
		x.faults.delay = f.Latency
		x.faults.mu.Unlock()
		return FaultResult{Detail: f.Latency.String()}, nil
	case FaultItemLatency:
		if f.Latency < 0 {
			return FaultResult{}, fmt.Errorf("ewsmem: negative item latency")
		}
		x.faults.mu.Lock()
		x.faults.itemDelay = f.Latency
		x.faults.mu.Unlock()
		return FaultResult{Detail: f.Latency.String()}, nil
	case FaultServerBusy:
		if f.Percent < 0 || f.Percent > 100 {
			return FaultResult{}, fmt.Errorf("ewsmem: server-busy percent %d out of 0..100", f.Percent)
		}
		x.throttle.setBusyPercent(f.Percent)
		return FaultResult{Detail: fmt.Sprintf("%d%%", f.Percent)}, nil
	case FaultDropStreams:
		conns := x.streams()
		for _, c := range conns {
			c.drop()
		}
		return FaultResult{Affected: len(conns)}, nil
	case FaultSilentStreams:
		on := f.Enable == nil || *f.Enable
		x.faults.mu.Lock()
		x.faults.silent = on
		x.faults.mu.Unlock()
		for _, c := range x.streams() {
			c.wake()
		}
		return FaultResult{Affected: len(x.streams())}, nil
	case FaultExpireSubscriptions:
		return FaultResult{Affected: x.expireSubscriptions()}, nil
	case FaultRestart:
		server := -1
		if f.Server != "" {
			i, ok := x.serverIndex(f.Server)
			if !ok {
				return FaultResult{}, fmt.Errorf("ewsmem: unknown server %q", f.Server)
			}
			server = i
		}
		for _, c := range x.streams() {
			if server < 0 || c.onServer(server) {
				c.drop()
			}
		}
		n := x.dropSubscriptions(server, nil)
		if server < 0 {
			x.subs.mu.Lock()
			x.epoch++
			x.subs.mu.Unlock()
		}
		return FaultResult{Affected: n}, nil
	case FaultMoveMailbox:
		mb, ok := x.mailbox(f.Mailbox)
		if !ok {
			return FaultResult{}, fmt.Errorf("%w: %s", ErrNoMailbox, f.Mailbox)
		}
		mb.mu.Lock()
		next := (mb.server + 1) % len(x.servers)
		if f.Server != "" {
			i, ok := x.serverIndex(f.Server)
			if !ok {
				mb.mu.Unlock()
				return FaultResult{}, fmt.Errorf("ewsmem: unknown server %q", f.Server)
			}
			next = i
		}
		mb.server = next
		mb.mu.Unlock()
		n := x.dropSubscriptions(-1, mb)
		return FaultResult{Affected: n, Detail: x.servers[next]}, nil
	case FaultInvalidateSyncStates:
		n := 0
		for _, addr := range x.Mailboxes() {
			if f.Mailbox != "" && addr != f.Mailbox {
				continue
			}
			mb, _ := x.mailbox(addr)
			mb.mu.Lock()
			mb.syncEpoch++
			mb.mu.Unlock()
			n++
		}
		return FaultResult{Affected: n}, nil
	case FaultUnauthorized:
		count := max(f.Count, 1)
		x.faults.mu.Lock()
		x.faults.pending401 = count
		x.faults.mu.Unlock()
		return FaultResult{Affected: count}, nil
	case FaultReadEventsFailed:
		x.subs.mu.Lock()
		n := 0
		for _, s := range x.subs.byID {
			if s.kind == ews.SubscriptionPull {
				s.readFailed = true
				n++
			}
		}
		x.subs.mu.Unlock()
		return FaultResult{Affected: n}, nil
	case FaultProxyFailure:
		x.faults.mu.Lock()
		x.faults.proxyFail = f.Enable == nil || *f.Enable
		x.faults.mu.Unlock()
		return FaultResult{}, nil
	case FaultInternalServerBusy:
		if f.Percent < 0 || f.Percent > 100 {
			return FaultResult{}, fmt.Errorf("ewsmem: internal-server-busy percent %d out of 0..100", f.Percent)
		}
		x.faults.mu.Lock()
		x.faults.innerBusy = f.Percent
		x.faults.mu.Unlock()
		return FaultResult{Detail: fmt.Sprintf("%d%%", f.Percent)}, nil
	case FaultCasError, FaultErrorPage:
		count := max(f.Count, 1)
		x.faults.mu.Lock()
		if f.Kind == FaultCasError {
			x.faults.pendingCAS = count
		} else {
			x.faults.pending302 = count
		}
		x.faults.mu.Unlock()
		return FaultResult{Affected: count}, nil
	case FaultClear:
		x.faults.mu.Lock()
		x.faults.delay, x.faults.itemDelay, x.faults.silent, x.faults.pending401, x.faults.pendingCAS, x.faults.pending302 = 0, 0, false, 0, 0, 0
		x.faults.proxyFail, x.faults.innerBusy = false, 0
		x.faults.mu.Unlock()
		x.throttle.setBusyPercent(0)
		for _, c := range x.streams() {
			c.wake()
		}
		return FaultResult{}, nil
	}
	return FaultResult{}, fmt.Errorf("ewsmem: unknown fault %q", f.Kind)
}

func (s *streamConn) onServer(server int) bool {
	s.x.subs.mu.Lock()
	defer s.x.subs.mu.Unlock()
	for _, sub := range s.subs {
		if sub.server == server {
			return true
		}
	}
	return false
}
