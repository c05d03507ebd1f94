// Package ewssim is calsync's EWS simulator: the Exchange model of ewsmem
// behind ewsserver's EWS handler, with the test machinery on top — fault
// injection (a decorator around the model's admission, plus the
// ewsmem.Conditions the model consults), churn, the seeded calendar
// generator and the JSON control API /sim/v1. `calsync sim`, `calsync demo`,
// the benchmarks and the tests use it; production code does not (the
// engine's in-process adapter takes any ewsserver backend).
package ewssim

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/internal/clock"
)

// Options configures New: the Exchange model, its generated calendars and
// how its EWS endpoint authenticates.
type Options struct {
	ewsmem.Options
	// Generate fills the user mailboxes with seeded calendars (Seed).
	Generate bool
	// Start, when set, is the simulator's now at start (see SetNow); the
	// clock runs on from there at the pace of Clock.
	Start time.Time
	// Basic and NTLM enable the authentication methods; with neither,
	// requests run as the service account.
	Basic bool
	NTLM  bool
	// SchemaNotificationNamespace writes streaming notifications as the
	// schema's t:Notification instead of Exchange's m:Notification (the
	// default, what Exchange 2013+ sends).
	SchemaNotificationNamespace bool
	// ControlRoutes, when set, adds routes to the /sim/v1/ control API
	// (behind the same authentication); the Graph face's hybrid controls
	// (graph/graphserver/hybrid) come this way.
	ControlRoutes func(mux *http.ServeMux)
}

// Simulator is an Exchange model with fault injection, churn and its EWS
// handler: ServeHTTP answers /EWS/Exchange.asmx,
// /autodiscover/autodiscover.svc and /sim/v1/. It is itself an ewsserver
// backend (the model's, with faults in front), so in-process callers get
// the same faults as HTTP clients.
type Simulator struct {
	*ewsmem.Exchange
	opts    Options
	log     *slog.Logger
	clock   *simClock
	faults  *faultState
	churn   churnState
	handler *ewsserver.Handler
}

// New builds a simulator:
//
//	sim, _ := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 10}, Generate: true, Basic: true})
//	srv := httptest.NewServer(sim)
//	defer sim.Close()
func New(o Options) (*Simulator, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Domain == "" {
		o.Domain = "example.com"
	}
	s := &Simulator{opts: o, log: o.Logger, clock: &simClock{base: o.Clock}, faults: newFaultState()}
	if !o.Start.IsZero() {
		s.clock.offset.Store(int64(o.Start.Sub(o.Clock.Now())))
	}
	model := o.Options
	model.Conditions = s.faults
	model.Clock = s.clock
	x, err := ewsmem.New(model)
	if err != nil {
		return nil, err
	}
	s.Exchange = x
	if o.Generate {
		if err := s.Generate(GenerateOptions{Seed: o.Seed}); err != nil {
			x.Close()
			return nil, err
		}
	}
	h, err := ewsserver.NewHandler(s, &ewsserver.Options{
		Logger: o.Logger,
		// The handler keeps the real clock: NTLM compares the client's
		// timestamps with it.
		Clock: o.Clock,
		Auth: ewsserver.AuthOptions{Basic: o.Basic, NTLM: o.NTLM, CheckPassword: x.CheckPassword, Password: x.Password,
			Anonymous: x.ServiceAccount(), NTLMDomain: ntlmDomain(o.Domain)},
		SchemaNotificationNamespace: o.SchemaNotificationNamespace,
		Control:                     s.ControlHandler(),
	})
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("ewssim: %w", err)
	}
	s.handler = h
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Handler returns the EWS handler.
func (s *Simulator) Handler() *ewsserver.Handler { return s.handler }

// Close stops churn, then the model's push deliveries and streams.
func (s *Simulator) Close() {
	s.StopChurn()
	s.Exchange.Close()
}

// ntlmDomain is the NetBIOS-style domain NTLM clients send: the first
// label of the SMTP domain.
func ntlmDomain(domain string) string {
	first, _, _ := strings.Cut(domain, ".")
	return first
}

var _ ewsserver.Backend = (*Simulator)(nil)
var _ ewsserver.BackendNotifications = (*Simulator)(nil)
var _ ewsserver.BackendAvailability = (*Simulator)(nil)
var _ ewsserver.BackendAutodiscover = (*Simulator)(nil)
var _ ewsserver.BackendFolders = (*Simulator)(nil)
