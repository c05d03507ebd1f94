package api

import (
	"net/http"
	"time"

	"github.com/calsync/calsync/connectors"
)

// ConnectorDTO is one presence connector's status (GET /api/v1/connectors).
type ConnectorDTO struct {
	Name        string     `json:"name"`
	Connected   bool       `json:"connected"`
	Unavailable bool       `json:"unavailable"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Live        int        `json:"publications_live"`
	Queue       int        `json:"queue_length"`
	Users       int        `json:"users"`
}

// ConnectorListDTO lists the configured connectors.
type ConnectorListDTO struct {
	Connectors []ConnectorDTO `json:"connectors"`
}

func toConnectorDTO(s connectors.Status) ConnectorDTO {
	return ConnectorDTO{Name: s.Name, Connected: s.Connected, Unavailable: s.Unavailable, LastError: s.LastError,
		LastErrorAt: optTime(s.LastErrorAt), Live: s.Live, Queue: s.Queue, Users: s.Users}
}

// handleConnectors lists the presence connectors' status; an empty list
// when none is configured.
func (s *server) handleConnectors(w http.ResponseWriter, _ *http.Request) {
	out := ConnectorListDTO{Connectors: []ConnectorDTO{}}
	if s.opts.Connectors != nil {
		for _, st := range s.opts.Connectors() {
			out.Connectors = append(out.Connectors, toConnectorDTO(st))
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}
