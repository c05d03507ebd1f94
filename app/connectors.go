package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/connectors/sip"
)

// newSIPConnector builds the connector of connectors.sip: a sink of the
// event log, seeded at start with the stored presence of the users to
// sync, its publications kept in the store.
func (a *App) newSIPConnector(cfg *config.SIPConnector) (*sip.Connector, error) {
	var tlsConf *tls.Config
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("app: connectors.sip.tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("app: connectors.sip.tls_ca_file %s holds no PEM certificate", cfg.TLSCAFile)
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var c *sip.Connector
	observe, err := connectors.RegisterMetrics(a.registry, "sip", func() connectors.Status { return c.Status() })
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	c, err = sip.New(sip.Options{
		Server: cfg.Server, Domain: cfg.Domain, Username: cfg.Username, Password: cfg.Password.Value(),
		Presentity: cfg.Presentity, Expires: cfg.Expires, Concurrency: cfg.Concurrency, TLS: tlsConf,
		Mapping:   sip.DefaultMapping().With(sipMapping(cfg.Mapping)),
		Documents: a.store, Initial: a.storedStates, Observe: observe,
		Clock: a.clock, Logger: a.log.With("component", "sip"),
	})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return c, nil
}

func sipMapping(m map[string]config.SIPLook) sip.Mapping {
	out := sip.Mapping{}
	for k, l := range m {
		out[k] = sip.Look{Closed: l.Closed, Activities: l.Activities, Note: l.Note, Withdraw: l.Withdraw}
	}
	return out
}

// storedStates is the presence the scheduler last published for each user
// to sync (its stored documents carry the presence's JSON fields).
func (a *App) storedStates(ctx context.Context) (map[string]connectors.State, error) {
	docs, err := a.store.LoadPresence(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]connectors.State, len(docs))
	for user, doc := range docs {
		if !a.known.has(user) {
			continue
		}
		var s connectors.State
		if err := json.Unmarshal(doc, &s); err != nil || s.Availability == "" {
			continue // the scheduler publishes it again
		}
		out[user] = s
	}
	return out, nil
}

// connectorStatuses lists the configured connectors' status for the API.
func (a *App) connectorStatuses() []connectors.Status {
	if a.sip == nil {
		return nil
	}
	return []connectors.Status{a.sip.Status()}
}
