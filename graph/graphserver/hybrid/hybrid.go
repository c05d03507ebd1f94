// Package hybrid is calsync's simulator of a hybrid Exchange organisation:
// the EWS simulator (ews/ewsserver/ewssim) and its Graph face
// (graph/graphserver) over one mailbox model, with some mailboxes in
// Exchange Online and moves between the mailbox servers and the cloud.
// `calsync sim` serves it; tests embed it.
package hybrid

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver"
)

// Options configures New.
type Options struct {
	// Sim is the EWS simulator; its ControlRoutes is set by New.
	Sim ewssim.Options
	// Graph is the Graph face (tenant, app, limits).
	Graph graphserver.Options
	// CloudMailboxes hosts the last N user mailboxes in the cloud.
	CloudMailboxes int
	// MovePhase is how long a move keeps a mailbox "in move" when the move
	// request names no phase (default 5 s on the simulator's clock).
	MovePhase time.Duration
}

// Simulator is the EWS simulator plus its Graph face. ServeHTTP answers
// EWS, Autodiscover and /sim/v1/ like ewssim, the token endpoint
// /{tenant}/oauth2/v2.0/token and Graph /v1.0/.
type Simulator struct {
	*ewssim.Simulator
	Graph     *graphserver.Server
	movePhase time.Duration
}

// New builds the simulator and places the cloud mailboxes.
func New(o Options) (*Simulator, error) {
	h := &Simulator{movePhase: o.MovePhase}
	if h.movePhase <= 0 {
		h.movePhase = 5 * time.Second
	}
	o.Sim.ControlRoutes = h.controlRoutes
	if o.Graph.Logger == nil {
		o.Graph.Logger = o.Sim.Logger
	}
	sim, err := ewssim.New(o.Sim)
	if err != nil {
		return nil, err
	}
	h.Simulator = sim
	users := userMailboxes(sim)
	if o.CloudMailboxes < 0 || o.CloudMailboxes > len(users) {
		sim.Close()
		return nil, fmt.Errorf("hybrid: %d cloud mailboxes out of range 0..%d (the user mailboxes)", o.CloudMailboxes, len(users))
	}
	if err := sim.PlaceInCloud(users[len(users)-o.CloudMailboxes:]...); err != nil {
		sim.Close()
		return nil, err
	}
	g, err := graphserver.New(sim, o.Graph)
	if err != nil {
		sim.Close()
		return nil, err
	}
	h.Graph = g
	return h, nil
}

// UserMailboxes lists the mailboxes other than the service account's, in
// creation order.
func (s *Simulator) UserMailboxes() []string { return userMailboxes(s.Simulator) }

func userMailboxes(sim *ewssim.Simulator) []string {
	var out []string
	for _, m := range sim.Mailboxes() {
		if m != sim.ServiceAccount() {
			out = append(out, m)
		}
	}
	return out
}

// ServeHTTP routes Graph and token requests to the Graph face,
// Autodiscover v2 (autodiscover.json) to this package and the rest to the
// EWS simulator.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/v1.0/") || strings.HasSuffix(p, "/oauth2/v2.0/token"):
		s.Graph.ServeHTTP(w, r)
		return
	case p == autodiscoverJSON || strings.HasPrefix(p, autodiscoverJSON+"/"):
		s.serveAutodiscoverJSON(w, r)
		return
	}
	s.Simulator.ServeHTTP(w, r)
}

// Move starts moving a mailbox to target (ewsmem.Cloud or a server FQDN)
// with a move phase of phase (negative: Options.MovePhase; 0: the move
// completes at once). When the move completes,
// the Graph face forgets the mailbox's delta tokens, and a mailbox that
// left the cloud loses its Graph subscriptions (subscriptionRemoved).
func (s *Simulator) Move(smtp, target string, phase time.Duration) error {
	if phase < 0 {
		phase = s.movePhase
	}
	smtp = strings.ToLower(smtp)
	return s.StartMove(smtp, target, phase, func() {
		s.Graph.ExpireDeltaTokens(smtp)
		if !strings.EqualFold(target, ewsmem.Cloud) {
			_, _ = s.Graph.SendLifecycle(graphserver.SubscriptionRemoved, smtp)
		}
	})
}

// Close stops the Graph face's deliveries, then the EWS simulator.
func (s *Simulator) Close() {
	s.Graph.Close()
	s.Simulator.Close()
}
