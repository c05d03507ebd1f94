// Package graphserver is the Microsoft Graph v1.0 face of calsync's
// Exchange simulator: an http.Handler that serves the calendars, automatic
// replies and change notifications of the same mailbox model the EWS face
// serves (one model, two protocols), and the Entra ID (Azure AD) token
// endpoint that issues its app-only tokens.
//
// What it reproduces is the checklist of graph-facts.md §8; the known
// differences are in docs/simulator.md. All times come from the model's
// clock.
package graphserver

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// Options configures a Server. Tenant, ClientID and one of ClientSecret or
// Certificates are required.
type Options struct {
	// Logger receives diagnostics (default: discard).
	Logger *slog.Logger
	// Tenant is the accepted tenant, a GUID or a domain; the token endpoint
	// answers other tenants with AADSTS90002.
	Tenant string
	// TenantID is the tenant's GUID reported in notifications (default: a
	// GUID derived from Tenant).
	TenantID string
	// ClientID is the application (client) id the tenant has consented.
	ClientID string
	// ClientSecret is the app's client secret ("" = no secret accepted).
	ClientSecret string
	// Certificates are the app's registered certificates: a client
	// assertion signed by one of their keys is accepted.
	Certificates []*x509.Certificate
	// TokenLifetime is expires_in of issued tokens (default 3599 s).
	TokenLifetime time.Duration
	// PageSize is the page size without $top or odata.maxpagesize
	// (default 10, as observed).
	PageSize int
	// RequestsPer10Min is the Outlook limit of requests per app and
	// mailbox in ten minutes (default 10,000; negative = unlimited).
	RequestsPer10Min int
	// Concurrency is the Outlook limit of concurrent requests per app and
	// mailbox (default 4; negative = unlimited).
	Concurrency int
	// MaxSubscriptionLifetime is the longest subscription expiry
	// (default 10,080 minutes; older documentation says 4,230).
	MaxSubscriptionLifetime time.Duration
	// MaxSubscriptionsPerMailbox is the per-mailbox subscription quota
	// (default 1,000).
	MaxSubscriptionsPerMailbox int
	// HTTPClient posts validation requests and notifications (default: an
	// http.Client without its own timeout; the server applies Graph's 10 s
	// and 3 s limits).
	HTTPClient *http.Client
	// NotifyInterval is how often subscribed mailboxes are looked at for
	// changes (default 1 s, real time).
	NotifyInterval time.Duration
	// RealClock measures timeouts and the notification cadence (default
	// clock.Real{}); the model's clock, which the simulator may move, gives
	// the time of day.
	RealClock clock.Clock
	// EmptyFirstDeltaPage makes the first page of an initial delta round
	// empty, with a nextLink, as observed (default false: set it to test
	// clients against that).
	EmptyFirstDeltaPage bool
	// SparseDeltaOccurrences makes delta send occurrences with only
	// @odata.type, @odata.etag, id, seriesMasterId, type, start and end,
	// as observed ([S45]; default false).
	SparseDeltaOccurrences bool
	// DuplicateNotifications sends every change notification twice, as
	// Graph was observed to ([S49][S50]; default false).
	DuplicateNotifications bool
	// DeltaReplays makes every delta round after the first repeat one
	// event the chain already has, as Graph may ("replays happen",
	// [S20b]; default false).
	DeltaReplays bool
}

// Server is the Graph and token endpoint over a mailbox model.
type Server struct {
	opts     Options
	model    Mailboxes
	log      *slog.Logger
	realTime clock.Clock
	tenantID string

	tokens        *tokenStore
	assertionSeen jtiLog
	users         *userDirectory
	throttle      *throttler
	deltas        *deltaStore
	subs          *subscriptionStore
	faults        faultState
	watch0        watcher
	scope         accessScope
	stats         stats

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// New returns a Server over model. Close stops its notification deliveries.
func New(model Mailboxes, opts Options) (*Server, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = 3599 * time.Second
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 10
	}
	if opts.RequestsPer10Min == 0 {
		opts.RequestsPer10Min = 10000
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	if opts.MaxSubscriptionLifetime <= 0 {
		opts.MaxSubscriptionLifetime = 10080 * time.Minute
	}
	if opts.MaxSubscriptionsPerMailbox <= 0 {
		opts.MaxSubscriptionsPerMailbox = 1000
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.NotifyInterval <= 0 {
		opts.NotifyInterval = time.Second
	}
	if opts.RealClock == nil {
		opts.RealClock = clock.Real{}
	}
	s := &Server{opts: opts, model: model, log: opts.Logger, realTime: opts.RealClock, done: make(chan struct{})}
	s.tenantID = opts.TenantID
	if s.tenantID == "" {
		s.tenantID = guidFrom("tenant:" + strings.ToLower(opts.Tenant))
	}
	s.tokens = newTokenStore()
	s.users = newUserDirectory(model)
	s.throttle = newThrottler(opts.RequestsPer10Min, opts.Concurrency)
	s.deltas = newDeltaStore()
	s.subs = newSubscriptionStore()
	s.watch0.boxes = map[string]*watchState{}
	s.wg.Add(1)
	go s.watch()
	return s, nil
}

// Close stops notification deliveries and waits for them.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// now is the model's time.
func (s *Server) now() time.Time { return s.model.Clock().Now() }

// ServeHTTP answers the token endpoint (/{tenant}/oauth2/v2.0/token) and
// Graph v1.0 (/v1.0/…).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.Error("graph: panic serving request", "path", r.URL.Path, "panic", v)
			s.writeError(w, r, errorf(http.StatusInternalServerError, "generalException", "An internal server error occurred."))
		}
	}()
	if tenant, ok := tokenPath(r.URL.Path); ok {
		s.serveToken(w, r, tenant)
		return
	}
	s.setGraphHeaders(w, r)
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
		s.writeError(w, r, errorf(http.StatusBadRequest, "BadRequest", "Invalid version: %s", firstSegment(r.URL.Path)))
		return
	}
	if err := s.authenticate(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveGraph(w, r)
}

// setGraphHeaders sets the diagnostic headers Graph sends on every answer.
func (s *Server) setGraphHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	id := newGUID()
	h.Set("request-id", id)
	if c := r.Header.Get("client-request-id"); c != "" {
		h.Set("client-request-id", c)
	} else {
		h.Set("client-request-id", id)
	}
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"SIM"}}`)
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "no-cache")
}

func firstSegment(p string) string {
	p = strings.TrimPrefix(p, "/")
	seg, _, _ := strings.Cut(p, "/")
	return seg
}

// check validates the options that have no default.
func (o *Options) check() error {
	switch {
	case strings.TrimSpace(o.Tenant) == "":
		return errConfig("graphserver: Options.Tenant is empty: set the tenant id or domain the token endpoint accepts")
	case strings.TrimSpace(o.ClientID) == "":
		return errConfig("graphserver: Options.ClientID is empty: set the application (client) id")
	case o.ClientSecret == "" && len(o.Certificates) == 0:
		return errConfig("graphserver: neither Options.ClientSecret nor Options.Certificates is set: the app could not authenticate")
	}
	return nil
}

type errConfig string

func (e errConfig) Error() string { return string(e) }
