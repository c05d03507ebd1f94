package ewssim

import (
	"fmt"
	"time"
)

// FaultKind names an injectable fault.
type FaultKind string

// The faults the simulator can inject on demand.
const (
	// FaultLatency adds Latency to every EWS operation (0 removes it).
	FaultLatency FaultKind = "latency"
	// FaultItemLatency gives every item of a GetItem, CreateItem,
	// UpdateItem or DeleteItem request Latency of simulated execution time
	// (0 removes it); batches running past ewsmem.Options.BatchTimeLimit answer
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

// InjectFault applies a fault now.
func (s *Simulator) InjectFault(f Fault) (FaultResult, error) {
	if f.LatencyMS > 0 && f.Latency == 0 {
		f.Latency = time.Duration(f.LatencyMS) * time.Millisecond
	}
	s.log.Info("ewssim: fault injected", "kind", f.Kind, "mailbox", f.Mailbox, "server", f.Server)
	fs := s.faults
	switch f.Kind {
	case FaultLatency, FaultItemLatency:
		if f.Latency < 0 {
			return FaultResult{}, fmt.Errorf("ewssim: negative %s", f.Kind)
		}
		fs.mu.Lock()
		if f.Kind == FaultLatency {
			fs.delay = f.Latency
		} else {
			fs.itemDelay = f.Latency
		}
		fs.mu.Unlock()
		return FaultResult{Detail: f.Latency.String()}, nil
	case FaultServerBusy, FaultInternalServerBusy:
		if f.Percent < 0 || f.Percent > 100 {
			return FaultResult{}, fmt.Errorf("ewssim: %s percent %d out of 0..100", f.Kind, f.Percent)
		}
		fs.mu.Lock()
		if f.Kind == FaultServerBusy {
			fs.busy.percent = f.Percent
		} else {
			fs.innerBusy.percent = f.Percent
		}
		fs.mu.Unlock()
		return FaultResult{Detail: fmt.Sprintf("%d%%", f.Percent)}, nil
	case FaultDropStreams:
		return FaultResult{Affected: s.DropStreams()}, nil
	case FaultSilentStreams:
		fs.mu.Lock()
		fs.silent = f.Enable == nil || *f.Enable
		fs.mu.Unlock()
		return FaultResult{Affected: s.WakeStreams()}, nil
	case FaultExpireSubscriptions:
		return FaultResult{Affected: s.ExpireSubscriptions()}, nil
	case FaultRestart:
		n, err := s.RestartServer(f.Server)
		return FaultResult{Affected: n}, err
	case FaultMoveMailbox:
		server, n, err := s.MoveMailbox(f.Mailbox, f.Server)
		return FaultResult{Affected: n, Detail: server}, err
	case FaultInvalidateSyncStates:
		return FaultResult{Affected: s.InvalidateSyncStates(f.Mailbox)}, nil
	case FaultReadEventsFailed:
		return FaultResult{Affected: s.FailNextGetEvents()}, nil
	case FaultProxyFailure:
		fs.mu.Lock()
		fs.proxyFail = f.Enable == nil || *f.Enable
		fs.mu.Unlock()
		return FaultResult{}, nil
	case FaultUnauthorized, FaultCasError, FaultErrorPage:
		count := max(f.Count, 1)
		fs.mu.Lock()
		switch f.Kind {
		case FaultUnauthorized:
			fs.pending401 = count
		case FaultCasError:
			fs.pendingCAS = count
		default:
			fs.pending302 = count
		}
		fs.mu.Unlock()
		return FaultResult{Affected: count}, nil
	case FaultClear:
		fs.clear()
		s.WakeStreams()
		return FaultResult{}, nil
	}
	return FaultResult{}, fmt.Errorf("ewssim: unknown fault %q", f.Kind)
}
