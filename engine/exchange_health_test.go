package engine

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// TestCredentialsRejectedIsOneGlobalState: with a wrong password every
// mailbox fails, and the engine says so once: ExchangeHealth is
// credentials_rejected with the next probe, the gauges agree, every mailbox
// counts as failing (not "failing=0" while they queue at the gate) and
// those queued at the gate say so. A good password brings all back.
func TestCredentialsRejectedIsOneGlobalState(t *testing.T) {
	fx := newFakeExchange()
	var rejecting atomic.Bool
	rejecting.Store(true)
	fx.setFail(func(op, smtp string) error {
		if rejecting.Load() {
			return errRejected
		}
		return nil
	})
	names := []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org"}
	reg := prometheus.NewRegistry()
	h := start(t, fx, memstore.New(), names, func(o *Options) {
		o.Registerer = reg
		o.Budget.CredentialPause = 200 * time.Millisecond
		o.RetryBase = 20 * time.Millisecond
	})
	testenv.WaitFor(t, "Exchange health credentials_rejected", func() bool {
		return h.e.ExchangeHealth().State == ExchangeCredentialsRejected
	})
	eh := h.e.ExchangeHealth()
	if eh.Since.IsZero() || eh.NextAttempt.IsZero() || !strings.Contains(eh.LastError, "HTTP401") {
		t.Errorf("ExchangeHealth = %+v, want since, next attempt and the HTTP401 error", eh)
	}
	if up, rej := metricValue(t, reg, "calsync_exchange_up"), metricValue(t, reg, "calsync_exchange_credentials_rejected"); up != 0 || rej != 1 {
		t.Errorf("calsync_exchange_up = %v, calsync_exchange_credentials_rejected = %v; want 0 and 1", up, rej)
	}
	testenv.WaitFor(t, "every mailbox counted as failing", func() bool { return h.e.Failing() == len(names) })
	testenv.WaitFor(t, "a mailbox waiting behind the credential gate saying so", func() bool {
		for _, st := range h.e.Statuses() {
			if st.State == StateWaiting && st.LastError != nil && st.LastError.Code == codeWaitingForCredentials &&
				strings.Contains(st.LastError.Message, "tries again at") {
				return true
			}
		}
		return false
	})

	rejecting.Store(false)
	for _, n := range names {
		h.waitState(n, StateLive)
	}
	testenv.WaitFor(t, "Exchange health ok again", func() bool { return h.e.ExchangeHealth().State == ExchangeOK })
	if n := h.e.Failing(); n != 0 {
		t.Errorf("Failing() = %d after recovery, want 0", n)
	}
	for _, st := range h.e.Statuses() {
		if st.LastError != nil && st.LastError.Code == codeWaitingForCredentials {
			t.Errorf("%s still shows %s after the gate opened", st.SMTP, st.LastError.Code)
		}
	}
	if up := metricValue(t, reg, "calsync_exchange_up"); up != 1 {
		t.Errorf("calsync_exchange_up = %v after recovery, want 1", up)
	}
}

// TestExchangeHealthStates: unreachable after a few requests without an
// answer, throttled during a global pause, ok again on an answer; the
// credential state wins over the others.
func TestExchangeHealthStates(t *testing.T) {
	fx := newFakeExchange()
	e, err := New(testOptions(fx, memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	h := e.budget.creds.health
	netErr := errors.New("dial tcp: connection refused")
	for range unreachableAfter - 1 {
		h.outcome(netErr)
	}
	if s := e.ExchangeHealth().State; s != ExchangeOK {
		t.Errorf("state after %d failures without answer = %s, want ok (one slow mailbox is no outage)", unreachableAfter-1, s)
	}
	h.outcome(netErr)
	if eh := e.ExchangeHealth(); eh.State != ExchangeUnreachable || !strings.Contains(eh.LastError, "connection refused") {
		t.Errorf("ExchangeHealth = %+v, want unreachable with the error", eh)
	}
	h.outcome(&ExchangeError{Code: "ErrorItemNotFound"})
	if s := e.ExchangeHealth().State; s != ExchangeOK {
		t.Errorf("state after an EWS answer = %s, want ok", s)
	}
	until := time.Now().Add(time.Hour)
	h.throttled(until, &ExchangeError{Code: "HTTP503"})
	if eh := e.ExchangeHealth(); eh.State != ExchangeThrottled || !eh.NextAttempt.Equal(until) || !eh.Up() {
		t.Errorf("ExchangeHealth = %+v, want throttled until %s and up", eh, until)
	}
	h.credentialsRejected(until, errRejected)
	if s := e.ExchangeHealth().State; s != ExchangeCredentialsRejected {
		t.Errorf("state with rejected credentials while throttled = %s, want credentials_rejected", s)
	}
}

// metricValue reads a registered gauge or counter.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
