package ewssim

import (
	"context"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// faultState holds the injected faults. It is the ewsmem.Conditions of the
// model (item latency, silent streams, proxy failures) and decides the
// answers the admission decorator gives in front of the model.
type faultState struct {
	mu         sync.Mutex
	delay      time.Duration
	itemDelay  time.Duration
	silent     bool
	proxyFail  bool
	pending401 int
	pendingCAS int
	pending302 int
	busy       share // ErrorServerBusy answers
	innerBusy  share // ErrorInternalServerError/ErrorServerBusy answers

	// What the decorator answered itself, for Stats: the model never saw
	// these requests.
	requests      map[string]int64
	throttled     map[string]int64 // by signal
	throttledByOp map[string]int64
}

// share picks percent % of the requests, evenly spread.
type share struct {
	percent int
	counter int
}

func (s *share) take() bool {
	if s.percent <= 0 {
		return false
	}
	s.counter++
	return (s.counter*s.percent)%100 < s.percent
}

func newFaultState() *faultState {
	return &faultState{requests: map[string]int64{}, throttled: map[string]int64{}, throttledByOp: map[string]int64{}}
}

// ItemLatency implements ewsmem.Conditions.
func (f *faultState) ItemLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.itemDelay
}

// StreamsSilent implements ewsmem.Conditions.
func (f *faultState) StreamsSilent() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.silent
}

// ProxyFailing implements ewsmem.Conditions.
func (f *faultState) ProxyFailing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.proxyFail
}

func (f *faultState) latency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delay
}

func (f *faultState) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay, f.itemDelay, f.silent, f.proxyFail = 0, 0, false, false
	f.pending401, f.pendingCAS, f.pending302 = 0, 0, 0
	f.busy, f.innerBusy = share{}, share{}
}

// front returns the answer an injected fault gives a request before the
// model sees it, or nil: pending transport faults first, then the
// internal-server-busy and server-busy shares.
func (f *faultState) front(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	switch {
	case f.pending401 > 0:
		f.pending401--
		err = &ews.HTTPError{StatusCode: 401, Status: "401 Unauthorized"}
	case f.pendingCAS > 0:
		f.pendingCAS--
		err = &ewsserver.TransportFault{StatusCode: 500, Header: map[string]string{"X-CasErrorCode": "BackEndLocatorFailure"}}
	case f.pending302 > 0:
		f.pending302--
		err = &ewsserver.TransportFault{StatusCode: 302, Header: map[string]string{"Location": "/ews/genericerrorpage.htm?aspxerrorpath=/EWS/Exchange.asmx"}}
	case f.innerBusy.take():
		// Exchange sometimes wraps ErrorServerBusy in an internal error.
		f.throttledByOp[op]++
		err = ewsserver.Fail(ews.ErrorInternalServerError, "An internal server error occurred. The operation failed., The server cannot service this request right now. Try again later.",
			ews.ValueInnerErrorResponseCode, string(ews.ErrorServerBusy), ews.ValueBackOffMilliseconds, "2000")
	case f.busy.take():
		f.throttled["ErrorServerBusy"]++
		f.throttledByOp[op]++
		err = ewsserver.ServerBusy(5*time.Second, true)
	default:
		return nil
	}
	f.requests[op]++
	return err
}

// Admit implements ewsserver.Backend: the injected faults in front of the
// model's admission (impersonation, throttling), then the injected latency
// with the request admitted, as a slow server holds its slot.
func (s *Simulator) Admit(ctx context.Context, c *ewsserver.Caller) (func(), error) {
	if err := s.faults.front(c.Operation); err != nil {
		return nil, err
	}
	release, err := s.Exchange.Admit(ctx, c)
	if err != nil {
		return nil, err
	}
	if d := s.faults.latency(); d > 0 {
		t := s.clock.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		case <-t.C():
		}
	}
	return release, nil
}
