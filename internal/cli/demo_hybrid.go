// `calsync demo --hybrid`: the demo over a hybrid organisation — the
// simulator's EWS and Graph faces over one model (graph/graphserver/hybrid),
// calsync configured with exchange and exchange_online together.

package cli

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/graph/graphserver/hybrid"
)

// The demo's Entra app, as the simulator accepts it (the secret is the
// demo's random password).
const (
	demoTenant    = "contoso.onmicrosoft.com"
	demoClientID  = "00000000-0000-0000-0000-00000000ca15"
	demoMoveEvery = 30 * time.Second
)

// demoSimulator starts the EWS simulator, or the hybrid one with the last
// quarter of the mailboxes in the cloud.
func demoSimulator(o ewssim.Options, d demoOptions, secret string) (*ewssim.Simulator, http.Handler, *hybrid.Simulator, error) {
	if !d.hybrid {
		sim, err := ewssim.New(o)
		return sim, sim, nil, err
	}
	h, err := hybrid.New(hybrid.Options{Sim: o, CloudMailboxes: max(d.mailboxes/4, 1),
		Graph: graphserver.Options{Tenant: demoTenant, ClientID: demoClientID, ClientSecret: secret}})
	if err != nil {
		return nil, nil, nil, err
	}
	return h.Simulator, h, h, nil
}

// demoExchangeOnline is the exchange_online section for the simulator's
// Graph face.
func demoExchangeOnline(simURL, secret string) *config.ExchangeOnline {
	return &config.ExchangeOnline{TenantID: demoTenant, ClientID: demoClientID, ClientSecret: config.NewSecret(secret, "generated"),
		GraphURL: simURL + "/v1.0", LoginURL: simURL,
		Notifications: config.GraphNotifications{Mode: "delta", DeltaInterval: 5 * time.Second}}
}

// moveMailboxes moves a random mailbox to the other side every
// demoMoveEvery (with the simulator's move phase), so the dashboard shows
// calsync following it.
func moveMailboxes(ctx context.Context, h *hybrid.Simulator, users []string, seed uint64, logger *slog.Logger) {
	rng := rand.New(rand.NewPCG(seed, 13))
	t := time.NewTicker(demoMoveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m := users[rng.IntN(len(users))]
		where, moving, err := h.Hosting(m)
		if err != nil || moving != "" {
			continue
		}
		target := ewsmem.Cloud
		if where == ewsmem.Cloud {
			if target, err = h.MailboxServer(m); err != nil {
				continue
			}
		}
		if err := h.Move(m, target, -1); err != nil {
			logger.Warn("demo: moving a mailbox failed", "smtp", m, "err", err)
			continue
		}
		logger.Info("demo: moving a mailbox", "smtp", m, "to", target)
	}
}
