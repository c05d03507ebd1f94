package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/engine/hybridexchange"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/ewsconn"
	"github.com/calsync/calsync/internal/graphconn"
	"github.com/calsync/calsync/webhook"
)

// engineOptions derives the engine's settings from the config.
func engineOptions(cfg *config.Config) engine.Options {
	n := cfg.Exchange.Notifications
	o := engine.Options{
		Mode:              engine.Mode(n.Mode),
		CoalesceDelay:     n.CoalesceDelay,
		ReconcileInterval: n.ReconcileInterval,
		OOFInterval:       n.OOFInterval,
		OOFPollInterval:   n.OOFPollInterval,
		PullInterval:      n.PullInterval,
		PullTimeout:       n.PullTimeout,
		StreamTimeout:     n.ConnectionTimeout,
		HeartbeatTimeout:  n.HeartbeatTimeout,
		GroupSize:         n.GroupSize,
		Window: engine.WindowConfig{
			DaysBefore: cfg.Window.DaysBefore,
			DaysAfter:  cfg.Window.DaysAfter,
			Explicit:   true, // the config has its own defaults; 0 and 0 mean today only
		},
		Budget: engine.BudgetConfig{
			Concurrency:       cfg.Budget.MaxConcurrency,
			PerServer:         cfg.Budget.PerServer,
			PerUser:           cfg.Budget.PerUser,
			RequestsPerSecond: cfg.Budget.RequestsPerSecond,
			MaxBackOff:        cfg.Budget.MaxBackOff,
		},
	}
	if n.CoalesceDelay == 0 {
		o.CoalesceDelay = -1 // coalesce_delay: 0 — re-read at the first notification
	}
	if n.OOFPollInterval == 0 {
		o.OOFPollInterval = -1 // oof_poll_interval: 0 — no mail-tip polling
	}
	if cfg.Window.DefaultTimeZone != "" {
		if loc, err := time.LoadLocation(cfg.Window.DefaultTimeZone); err == nil {
			o.Window.DefaultTimeZone = loc
		}
	}
	if x := cfg.ExchangeOnline; x != nil && !hasEWS(cfg) {
		// Graph has no streaming: delta rounds are the engine's pull loop.
		// In hybrid the EWS side keeps its mode and the router polls the
		// cloud mailboxes itself (hybridOptions).
		o.Mode = engine.Pull
		o.PullInterval = x.Notifications.DeltaInterval
		if x.Notifications.Mode == "webhook" {
			// A pull without a notification makes no request; delta_interval
			// is the safety-net round (graphexchange.WebhookOptions).
			o.PullInterval = 2 * time.Second
		}
	}
	return o
}

func webhookEndpoints(hooks []config.Webhook) []webhook.Endpoint {
	out := make([]webhook.Endpoint, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, webhook.Endpoint{Name: h.Name, URL: h.URL, Secret: h.Secret.Value(), Events: h.Events, Timeout: h.Timeout})
	}
	return out
}

// exchangeSource converts the engine's Exchange health for the API.
type exchangeSource struct{ e *engine.Engine }

func (x exchangeSource) ExchangeHealth() api.ExchangeHealth {
	h := x.e.ExchangeHealth()
	return api.ExchangeHealth{State: h.State, Since: h.Since, NextAttempt: h.NextAttempt, LastError: h.LastError}
}

// groupSource converts the engine's streaming groups for the API.
type groupSource struct{ e *engine.Engine }

func (g groupSource) StreamGroups() []api.StreamGroup {
	groups := g.e.Groups()
	out := make([]api.StreamGroup, 0, len(groups))
	for _, gr := range groups {
		sg := api.StreamGroup{Key: gr.Key, Anchor: gr.Anchor, Subscriptions: gr.Subscriptions}
		for _, c := range gr.Connections {
			sg.Connections = append(sg.Connections, api.StreamConnection{
				Name: c.Name, State: c.State, Subscriptions: c.Subscriptions, Since: c.Since,
				LastMessage: c.LastMessage, Reconnects: c.Reconnects, LastError: c.LastError,
			})
		}
		out = append(out, sg)
	}
	return out
}

// impersonationIdentities returns the UPN or SID table that
// exchange.impersonation.id_type asks for, or nil to impersonate by SMTP
// address.
func impersonationIdentities(cfg *config.Config) *ewsexchange.Identities {
	switch cfg.Exchange.Impersonation.IDType {
	case config.ImpersonateUPN:
		return ewsexchange.NewIdentities(ews.SIDPrincipalName)
	case config.ImpersonateSID:
		return ewsexchange.NewIdentities(ews.SIDSecurityID)
	}
	return nil
}

// usersFromConfig reads the users sections (static list, CSV file, LDAP
// group) through the directory package. With identities, every read also
// refreshes the UPN or SID each user is impersonated by.
//
// The list read last is kept in st: when the directory is unavailable (LDAP
// down, CSV file missing or with a bad row) the function returns the kept
// list with a *directory.StaleError; only when no list was ever kept does
// it fail outright.
func usersFromConfig(cfg *config.Config, identities *ewsexchange.Identities, st directory.DocumentStore, clk clock.Clock, log *slog.Logger, observe ...func([]directory.User)) (UsersFunc, error) {
	dir, err := directory.FromConfig(cfg.Users, log)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	src := directory.NewLastGood(dir, st, clk, log)
	return func(ctx context.Context) ([]string, error) {
		users, err := src.Users(ctx)
		var stale *directory.StaleError
		if err != nil && !errors.As(err, &stale) {
			return nil, err
		}
		seen := make(map[string]bool, len(users))
		out := make([]string, 0, len(users))
		ids := make(map[string]ewsexchange.UserIDs, len(users))
		for _, u := range users {
			k := strings.ToLower(strings.TrimSpace(u.SMTP))
			if k != "" && !seen[k] {
				seen[k] = true
				out = append(out, k)
				ids[k] = ewsexchange.UserIDs{UPN: u.UPN, SID: u.SID}
			}
		}
		for _, o := range observe {
			o(users)
		}
		if identities != nil {
			if missing := identities.Set(ids); missing > 0 {
				log.Warn("users without the identifier exchange.impersonation.id_type asks for are impersonated by SMTP address",
					"id_type", string(cfg.Exchange.Impersonation.IDType), "users", missing, "of", len(out))
			}
		}
		return out, err // err is nil or the *directory.StaleError
	}, nil
}

// newExchange builds the EWS access from the config, the Graph access
// when exchange_online is configured instead, or both (hybrid). In Graph
// webhook mode it also returns the handler for Graph's notifications.
func newExchange(cfg *config.Config, identities *ewsexchange.Identities, hybrid *hybridexchange.Options, clk clock.Clock, log *slog.Logger) (engine.Exchange, http.Handler, error) {
	var cloud *graphexchange.Client
	var hook http.Handler
	if x := cfg.ExchangeOnline; x != nil {
		gc, err := graphconn.NewClient(x, graphconn.Options{Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("app: %w", err)
		}
		o := &graphexchange.Options{DaysBefore: cfg.Window.DaysBefore, DaysAfter: cfg.Window.DaysAfter}
		if x.Notifications.Mode == "webhook" {
			state, err := clientState()
			if err != nil {
				return nil, nil, fmt.Errorf("app: %w", err)
			}
			u := x.Notifications.PublicURL + config.GraphNotifyPath
			o.Webhook = &graphexchange.WebhookOptions{NotificationURL: u, LifecycleURL: u, ClientState: state,
				SafetyInterval: x.Notifications.DeltaInterval}
		}
		cloud = graphexchange.New(gc, o)
		if r := cloud.Receiver(); r != nil {
			hook = r
		}
		if !hasEWS(cfg) {
			return cloud, hook, nil
		}
	}
	c, err := ewsconn.NewClient(cfg, ewsconn.Options{Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("app: %w", err)
	}
	x := ewsexchange.NewClient(c, cfg.Exchange.AutodiscoverURL)
	x.ImpersonateWith(identities)
	x.UseClock(clk)
	if cloud != nil { // hybrid: each mailbox from the side that hosts it
		return hybridexchange.New(x, cloud, hybrid), hook, nil
	}
	return x, nil, nil
}

// clientState is a fresh secret for the subscriptions of this run: Graph
// echoes it in every notification; subscriptions of an earlier run are
// replaced (their notifications no longer match).
func clientState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// withGraphNotifications serves Graph's notifications at
// config.GraphNotifyPath, without API tokens (clientState authenticates
// them), and everything else with api.
func withGraphNotifications(api, hook http.Handler) http.Handler {
	if hook == nil {
		return api
	}
	mux := http.NewServeMux()
	mux.Handle(config.GraphNotifyPath, hook)
	mux.Handle("/", api)
	return mux
}

// hasEWS reports whether the exchange section is configured.
func hasEWS(cfg *config.Config) bool {
	return cfg.Exchange.EWSURL != "" || cfg.Exchange.AutodiscoverURL != ""
}

// presenceDefaultZone is the zone presence uses for a mailbox whose own zone
// is not known: presence.time_zone when set (the rule set applies it),
// else window.default_time_zone, so that texts and the window agree.
func presenceDefaultZone(cfg *config.Config) string {
	if cfg.Presence.RuleSet.TimeZone != "" {
		return ""
	}
	return cfg.Window.DefaultTimeZone
}
