// Package api is calsync's HTTP interface: the versioned JSON REST API under
// /api/v1, the Server-Sent Events stream of presence and sync-health changes
// (served from the events log), health and readiness probes, the Prometheus endpoint and the
// embedded dashboard.
//
// The package consumes the rest of calsync through small interfaces
// (PresenceSource, SyncSource, AgendaSource, OverrideSetter, DryRunner,
// SyncTrigger) so that it can be built and tested on its own; the app
// package wires the real presence scheduler, sync engine and store into
// Options. JSON documents are DTOs defined here, converted from the domain
// types by explicit functions (see dto.go).
//
// The OpenAPI 3 document of the API is api/openapi.yaml; it is served at
// /api/v1/openapi.yaml.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"github.com/calsync/calsync/connectors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3 document describing the API.
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDocument...) }

// Sentinel errors a source returns (wrapped) so that the API answers with
// the right status code.
var (
	// ErrUnknownUser: the user is not synced by this instance (404).
	ErrUnknownUser = errors.New("api: unknown user")
	// ErrInvalidInput: the request is well-formed JSON but semantically
	// wrong, e.g. a proposed rule set that does not validate (400).
	ErrInvalidInput = errors.New("api: invalid input")
)

// PresenceSource is the presence scheduler as the API sees it. Both methods
// read in-memory state and must be cheap and safe for concurrent use.
type PresenceSource interface {
	// Current returns the presence of one user; ok is false for a user
	// calsync does not know.
	Current(user string) (p presence.Presence, ok bool)
	// All returns the presence of every known user, in any order.
	All() []presence.Presence
}

// SyncSource is the sync engine's view of mailbox health; *engine.Engine
// satisfies it. Both methods read in-memory state.
type SyncSource interface {
	// Statuses returns the sync status of every mailbox.
	Statuses() []store.MailboxStatus
	// Status returns the sync status of one mailbox; any error means the
	// mailbox is not synced (404).
	Status(user string) (store.MailboxStatus, error)
}

// ExchangeSource reports the state of Exchange as a whole: a problem every
// mailbox shares (credentials rejected, unreachable, throttled) is one
// state, not one error per mailbox.
type ExchangeSource interface {
	ExchangeHealth() ExchangeHealth
}

// ExchangeHealth is the state ExchangeSource reports.
type ExchangeHealth struct {
	// State is ok, credentials_rejected, unreachable or throttled.
	State string
	// Since is when the state began; NextAttempt when requests go again
	// (zero when not known).
	Since, NextAttempt time.Time
	// LastError is the error behind the state ("" when ok).
	LastError string
}

// StreamGroupSource adds the engine's notification connections to the
// connection-group summary (the app adapts engine.Engine.Groups to it).
type StreamGroupSource interface {
	// StreamGroups returns one entry per affinity group with streaming
	// connections (none in pull mode).
	StreamGroups() []StreamGroup
}

// StreamGroupsFunc adapts a function to StreamGroupSource, e.g. one that
// converts engine.Engine.Groups.
type StreamGroupsFunc func() []StreamGroup

// StreamGroups calls f.
func (f StreamGroupsFunc) StreamGroups() []StreamGroup { return f() }

// StreamGroup is the engine's view of one affinity group's connections.
type StreamGroup struct {
	// Key matches store.MailboxStatus.Group.
	Key string
	// Anchor is the mailbox whose X-AnchorMailbox routes the group's calls.
	Anchor        string
	Subscriptions int
	Connections   []StreamConnection
}

// StreamConnection is one streaming-notification connection.
type StreamConnection struct {
	Name          string
	State         string // "connecting", "open", "backoff"
	Subscriptions int
	Since         time.Time
	LastMessage   time.Time
	Reconnects    int
	LastError     string
}

// AgendaSource reads stored occurrences; store.Store satisfies it.
type AgendaSource interface {
	// Occurrences returns the occurrences of a mailbox overlapping [start, end).
	Occurrences(ctx context.Context, smtp string, start, end time.Time) ([]calendar.Occurrence, error)
}

// OverrideSetter sets and clears manual overrides (presence.Override: it
// wins over the calendar until Until or, when Until is zero, until the next
// calendar transition after SetAt). Implementations return the user's
// presence after the change; errors wrapping ErrUnknownUser mean 404,
// ErrInvalidInput 400.
type OverrideSetter interface {
	SetOverride(ctx context.Context, user string, o presence.Override) (presence.Presence, error)
	ClearOverride(ctx context.Context, user string) (presence.Presence, error)
}

// DryRunner previews a user's presence timeline over [start, end) under the
// current rules (rules == nil) or a proposed rule set, which the API has
// decoded from the request body and compiled (an array of presence.Rule or
// a presence.RuleSet object). presence.Timeline does the work. Errors
// wrapping ErrInvalidInput mean 400, ErrUnknownUser 404.
type DryRunner interface {
	DryRun(ctx context.Context, user string, rules *presence.CompiledRules, start, end time.Time) ([]presence.Presence, error)
}

// SyncTrigger asks the engine to resynchronise one mailbox now and may wait
// for the result (*engine.Engine satisfies it). An error answers 503 with
// the error's text.
type SyncTrigger interface {
	SyncNow(ctx context.Context, user string) error
}

// DeadLetterAdmin lists and re-sends dead-lettered webhook deliveries
// (*webhook.Dispatcher satisfies it). Errors wrapping store.ErrNotFound
// answer 404 not_found (no dead letter with that id), errors wrapping
// webhook.ErrUnknownEndpoint 404 unknown_endpoint.
type DeadLetterAdmin interface {
	// DeadLetters lists the dead letters q selects, oldest (lowest Seq) first.
	DeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.OutboxMessage, error)
	// RetryDeadLetter re-queues one dead letter under its delivery id and
	// returns it as re-queued.
	RetryDeadLetter(ctx context.Context, id string) (store.OutboxMessage, error)
	// RetryDeadLetters re-queues every dead letter of a configured endpoint
	// and returns how many.
	RetryDeadLetters(ctx context.Context, endpoint string) (int, error)
}

// PrivacyPolicy decides whether the subject, location, organizer and
// categories of a private or confidential occurrence may leave calsync.
// Returning false (the default when no policy is set) masks them.
type PrivacyPolicy func(user string, occ calendar.Occurrence) bool

// Options configures New. Presence is required; every other source is
// optional and its endpoints answer 501 Not Implemented when it is nil.
type Options struct {
	Presence PresenceSource
	Sync     SyncSource
	// Groups is optional; without it groups are derived from statuses only.
	Groups StreamGroupSource
	// Exchange is optional; with it the sync overview and /readyz carry an
	// exchange block.
	Exchange  ExchangeSource
	Agenda    AgendaSource
	Overrides OverrideSetter
	DryRun    DryRunner
	SyncNow   SyncTrigger
	// DeadLetters serves /api/v1/webhooks/dead-letters; nil (no webhooks
	// configured) answers 501 there.
	DeadLetters DeadLetterAdmin
	// Connectors lists the presence connectors' status
	// (/api/v1/connectors); nil: none configured.
	Connectors func() []connectors.Status
	// Events is the event log served at /api/v1/events; nil disables the
	// stream.
	Events EventStream
	// EventHeartbeat is the interval of comment lines on the event stream
	// that keep proxies from closing idle streams (default 15s).
	EventHeartbeat time.Duration
	// Dashboard serves everything outside /api/, /healthz, /readyz and
	// /metrics (the web package's handler); nil answers 404 there.
	Dashboard http.Handler
	// Tokens are the accepted API tokens with the role admin, ReadTokens
	// those with the role read (writes answer 403). Both empty means no
	// authentication: only acceptable on a loopback listener (see
	// RequireTokensUnlessLoopback).
	Tokens     []string
	ReadTokens []string
	// RevealPrivate allows subjects of private items per user and occurrence.
	RevealPrivate PrivacyPolicy
	// Ready reports whether the instance can serve (store open, engine
	// started); a non-nil error makes /readyz answer 503.
	Ready func(ctx context.Context) error
	// Registerer receives the API's own metrics; Gatherer is served at
	// /metrics. Either may be nil.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Logger     *slog.Logger
	Clock      clock.Clock
	// MaxAgendaRange bounds agenda queries; default 62 days.
	MaxAgendaRange time.Duration
	// MaxDryRunRange bounds dry-run previews; default 14 days.
	MaxDryRunRange time.Duration
	// SyncNowWait bounds how long sync-now waits for the result (default
	// 45s, below the server's write timeout); the sync itself goes on.
	SyncNowWait time.Duration
}

// server holds the state shared by the handlers.
type server struct {
	opts    Options
	log     *slog.Logger
	clock   clock.Clock
	auth    *authenticator
	metrics *httpMetrics
	routes  []route
	// promHandler serves Options.Gatherer; nil without one.
	promHandler http.Handler
}

// New returns the http.Handler serving the API, the event stream, the
// probes, /metrics and the dashboard. It returns an error when a required
// option is missing or metrics cannot be registered.
func New(opts Options) (http.Handler, error) {
	if opts.Presence == nil {
		return nil, errors.New("api: Options.Presence is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.EventHeartbeat <= 0 {
		opts.EventHeartbeat = 15 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.MaxAgendaRange <= 0 {
		opts.MaxAgendaRange = 62 * 24 * time.Hour
	}
	if opts.MaxDryRunRange <= 0 {
		opts.MaxDryRunRange = 14 * 24 * time.Hour
	}
	if opts.SyncNowWait <= 0 {
		opts.SyncNowWait = 45 * time.Second
	}
	m, err := newHTTPMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &server{
		opts:    opts,
		log:     opts.Logger,
		clock:   opts.Clock,
		auth:    newAuthenticator(opts.Tokens, opts.ReadTokens),
		metrics: m,
	}
	s.promHandler = newPromHandler(opts.Gatherer)
	s.routes = s.routeTable()
	return s.buildMux(), nil
}

// writeJSON writes v as the JSON body with the given status.
func (s *server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("api: encoding response", "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "could not encode the response")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
