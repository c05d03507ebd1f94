package ewsmem

import (
	"fmt"
	"net/http"

	"github.com/calsync/calsync/ews/ewsserver"
)

// SimulatorOptions configures NewSimulator: the Exchange plus how its
// EWS endpoint authenticates.
type SimulatorOptions struct {
	Options
	// Basic and NTLM enable the authentication methods; with neither,
	// requests run as the service account.
	Basic bool
	NTLM  bool
	// ExchangeNotificationNamespace writes streaming notifications as
	// m:Notification like real Exchange (default: schema's t:Notification).
	ExchangeNotificationNamespace bool
}

// Simulator is an Exchange with its EWS handler: ServeHTTP answers
// /EWS/Exchange.asmx, /autodiscover/autodiscover.svc and /sim/v1/.
type Simulator struct {
	*Exchange
	handler *ewsserver.Handler
}

// NewSimulator builds an Exchange and its handler in one step, for
// `calsync sim`, `calsync demo` and tests:
//
//	sim, _ := ewsmem.NewSimulator(ewsmem.SimulatorOptions{Options: ewsmem.Options{Mailboxes: 10, Generate: true}, Basic: true})
//	srv := httptest.NewServer(sim)
//	defer sim.Close()
func NewSimulator(o SimulatorOptions) (*Simulator, error) {
	x, err := New(o.Options)
	if err != nil {
		return nil, err
	}
	h, err := ewsserver.NewHandler(x, &ewsserver.Options{
		Logger: x.log,
		Clock:  x.clock,
		Auth: ewsserver.AuthOptions{Basic: o.Basic, NTLM: o.NTLM, CheckPassword: x.CheckPassword, Password: x.Password,
			Anonymous: x.ServiceAccount(), NTLMDomain: ntlmDomain(x.opts.Domain)},
		SchemaNotificationNamespace: !o.ExchangeNotificationNamespace,
		Control:                     x.ControlHandler(),
	})
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("ewsmem: %w", err)
	}
	return &Simulator{Exchange: x, handler: h}, nil
}

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Handler returns the EWS handler.
func (s *Simulator) Handler() *ewsserver.Handler { return s.handler }

func ntlmDomain(domain string) string {
	for i, c := range domain {
		if c == '.' {
			return domain[:i]
		}
	}
	return domain
}
