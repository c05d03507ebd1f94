package hybrid

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/simapi"
)

// The hybrid part of the /sim/v1/ control API (behind the EWS
// simulator's authentication):
//
//	POST /sim/v1/mailboxes/{smtp}/move     {"to":"cloud"|server FQDN, "phase":"5s"}
//	GET  /sim/v1/mailboxes/{smtp}/hosting  {"where":…, "moving_to":…}
//	POST /sim/v1/graph/faults              GraphFaultJSON
//	POST /sim/v1/graph/scope               ScopeJSON
//	GET  /sim/v1/graph/stats               graphserver.Stats

// MoveJSON is the body of POST /sim/v1/mailboxes/{smtp}/move.
type MoveJSON struct {
	To    string `json:"to"`
	Phase string `json:"phase,omitempty"` // Go duration; default Options.MovePhase
}

// HostingJSON is where a mailbox lives.
type HostingJSON struct {
	SMTP     string `json:"smtp"`
	Where    string `json:"where"`
	MovingTo string `json:"moving_to,omitempty"`
}

// ScopeJSON is the body of POST /sim/v1/graph/scope: the mailboxes the
// app may read (absent = all; outside: 403 ErrorAccessDenied) once the
// change has propagated (Go duration, default at once).
type ScopeJSON struct {
	Mailboxes   []string `json:"mailboxes"`
	Propagation string   `json:"propagation,omitempty"`
}

// GraphFaultJSON is the body of POST /sim/v1/graph/faults: the
// percentages and latency replace the current ones; the actions run once.
type GraphFaultJSON struct {
	ThrottlePercent    int    `json:"throttle_percent,omitempty"`
	UnavailablePercent int    `json:"unavailable_percent,omitempty"`
	LatencyMS          int    `json:"latency_ms,omitempty"`
	Unauthorized       int    `json:"unauthorized,omitempty"`        // the next N requests get 401
	RevokeTokens       bool   `json:"revoke_tokens,omitempty"`       // every issued token becomes invalid
	ExpireDeltaTokens  bool   `json:"expire_delta_tokens,omitempty"` // of Mailbox, or all
	Lifecycle          string `json:"lifecycle,omitempty"`           // reauthorizationRequired, subscriptionRemoved, missed
	Mailbox            string `json:"mailbox,omitempty"`
}

func (s *Simulator) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sim/v1/mailboxes/{smtp}/move", func(w http.ResponseWriter, r *http.Request) {
		var in MoveJSON
		if !readJSON(w, r, &in) {
			return
		}
		phase := time.Duration(-1) // the default
		if in.Phase != "" {
			d, err := time.ParseDuration(in.Phase)
			if err != nil || d < 0 {
				writeProblem(w, http.StatusBadRequest, fmt.Sprintf("phase %q: want a non-negative Go duration such as 5s", in.Phase))
				return
			}
			phase = d
		}
		if in.To == "" {
			writeProblem(w, http.StatusBadRequest, `"to" is required: "cloud" or a mailbox server`)
			return
		}
		smtp := r.PathValue("smtp")
		if err := s.Move(smtp, in.To, phase); err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		s.writeHosting(w, http.StatusAccepted, smtp)
	})
	mux.HandleFunc("GET /sim/v1/mailboxes/{smtp}/hosting", func(w http.ResponseWriter, r *http.Request) {
		s.writeHosting(w, http.StatusOK, r.PathValue("smtp"))
	})
	mux.HandleFunc("POST /sim/v1/graph/faults", func(w http.ResponseWriter, r *http.Request) {
		var in GraphFaultJSON
		if !readJSON(w, r, &in) {
			return
		}
		res, err := s.applyGraphFault(in)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /sim/v1/graph/scope", func(w http.ResponseWriter, r *http.Request) {
		var in ScopeJSON
		if !readJSON(w, r, &in) {
			return
		}
		var d time.Duration
		if in.Propagation != "" {
			var err error
			if d, err = time.ParseDuration(in.Propagation); err != nil || d < 0 {
				writeProblem(w, http.StatusBadRequest, fmt.Sprintf("propagation %q: want a non-negative Go duration such as 30m", in.Propagation))
				return
			}
		}
		s.Graph.SetAccessScope(in.Mailboxes, d)
		writeJSON(w, http.StatusOK, in)
	})
	mux.HandleFunc("GET /sim/v1/graph/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Graph.Stats())
	})
}

func (s *Simulator) writeHosting(w http.ResponseWriter, status int, smtp string) {
	where, moving, err := s.Hosting(smtp)
	if err != nil {
		writeProblem(w, statusFor(err), err.Error())
		return
	}
	writeJSON(w, status, HostingJSON{SMTP: smtp, Where: where, MovingTo: moving})
}

// applyGraphFault applies a fault request and says what it did.
func (s *Simulator) applyGraphFault(in GraphFaultJSON) (map[string]int, error) {
	if in.LatencyMS < 0 || in.Unauthorized < 0 {
		return nil, errors.New("latency_ms and unauthorized must not be negative")
	}
	if err := s.Graph.SetFaults(graphserver.Faults{ThrottlePercent: in.ThrottlePercent, UnavailablePercent: in.UnavailablePercent,
		Latency: time.Duration(in.LatencyMS) * time.Millisecond}); err != nil {
		return nil, err
	}
	out := map[string]int{}
	if in.Unauthorized > 0 {
		s.Graph.FailNextRequests(in.Unauthorized)
		out["unauthorized"] = in.Unauthorized
	}
	if in.RevokeTokens {
		s.Graph.RevokeTokens()
		out["revoked"] = 1
	}
	if in.ExpireDeltaTokens {
		out["delta_tokens_expired"] = s.Graph.ExpireDeltaTokens(in.Mailbox)
	}
	if in.Lifecycle != "" {
		n, err := s.Graph.SendLifecycle(in.Lifecycle, in.Mailbox)
		if err != nil {
			return nil, err
		}
		out["subscriptions_notified"] = n
	}
	return out, nil
}

func statusFor(err error) int {
	if errors.Is(err, ewsmem.ErrNoMailbox) {
		return http.StatusNotFound
	}
	if errors.Is(err, ewsmem.ErrMoveInProgress) {
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

// The control API's JSON conventions (internal/simapi).
var (
	readJSON     = simapi.ReadJSON
	writeJSON    = simapi.WriteJSON
	writeProblem = simapi.WriteProblem
)
