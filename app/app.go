// Package app wires one calsync instance: store, EWS client, sync engine,
// presence scheduler, event log, webhook dispatcher, REST API and dashboard.
// cmd/calsync (through internal/cli) creates it for `run` and `demo`; tests
// embed it. It never touches signals or calls os.Exit.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/connectors/sip"
	"github.com/calsync/calsync/directory"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/hybridexchange"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/web"
	"github.com/calsync/calsync/webhook"
)

// UsersFunc returns the SMTP addresses of the mailboxes to sync.
type UsersFunc func(ctx context.Context) ([]string, error)

// Options configure New. Config is required; everything else has a default
// derived from it.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	Clock  clock.Clock
	// Exchange overrides the EWS access built from Config (tests, demo).
	Exchange engine.Exchange
	// Store overrides the store Config.Store names (bolt file or PostgreSQL).
	Store store.Store
	// Users overrides the users sources of Config.
	Users UsersFunc
	// Listener overrides the API listener opened at Config.API.Listen.
	Listener net.Listener
	// EngineTuning adjusts engine options after they were derived from
	// Config (demo and tests shorten delays).
	EngineTuning func(*engine.Options)
	// MemoryLimit sets the process's memory limit for the number of
	// mailboxes the instance syncs, each time that number changes
	// (`calsync run`: memlimit.SetForMailboxes). nil leaves the Go
	// runtime alone: tests and the demo share a process with others.
	MemoryLimit func(mailboxes int)
}

// App is one running calsync instance.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	clock    clock.Clock
	registry *prometheus.Registry
	// memoryLimit is Options.MemoryLimit (memory.go).
	memoryLimit func(mailboxes int)

	store     store.Store
	engine    *engine.Engine
	scheduler *presence.Scheduler
	known     userSet
	events    *events.Log
	// stream is what the API serves: events itself, or in a cluster the
	// mirror of the shared event table (clusterevents.go).
	stream *events.Log
	health *healthEvents
	// statusChanged is signalled on every status report of the engine.
	statusChanged chan struct{}
	dispatcher    *webhook.Dispatcher
	sip           *sip.Connector // connectors.sip, nil when not configured
	users         UsersFunc
	listener      net.Listener
	server        *http.Server
	tls           bool // the API listener speaks HTTPS

	// cluster is set when instances share a PostgreSQL store (cluster.go).
	cluster *clusterPart
	// hybrid is the router when exchange and exchange_online are both
	// configured; hints is the directory's word on where mailboxes live.
	hybrid *hybridexchange.Router
	hints  sideHints
	// sipAddresses are the users source's SIP addresses, the SIP
	// connector's presentities where the source has one.
	sipAddresses sipAddresses

	cleanup []func()
}

// New builds an instance; nothing runs until Run. On error everything
// already opened is closed again.
func New(ctx context.Context, opts Options) (a *App, err error) {
	if opts.Config == nil {
		return nil, errors.New("app: Options.Config is required")
	}
	cfg := opts.Config
	a = &App{cfg: cfg, log: opts.Logger, clock: opts.Clock, registry: prometheus.NewRegistry(), memoryLimit: opts.MemoryLimit}
	// Every error return sets a to nil first; keep the instance to close.
	partial := a
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.clock == nil {
		a.clock = clock.Real{}
	}
	defer func() {
		if err != nil {
			partial.close()
			a = nil
		}
	}()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.store = opts.Store
	if a.store == nil {
		st, err := openStore(ctx, cfg, a.log.With("component", "store"))
		if err != nil {
			return nil, err
		}
		a.store = st
		a.onClose(func() { _ = st.Close() })
	}
	if err := a.setupCluster(); err != nil {
		return nil, err
	}

	identities := impersonationIdentities(cfg)
	exchange := opts.Exchange
	var graphHook http.Handler // Graph's notifications (webhook mode)
	if exchange == nil {
		exchange, graphHook, err = newExchange(cfg, identities, a.hybridOptions(cfg), a.clock, a.log.With("component", "ewsclient"))
		if err != nil {
			return nil, err
		}
	}
	if err := a.loadHybrid(ctx, exchange); err != nil {
		return nil, err
	}

	a.users = opts.Users
	if a.users == nil {
		a.users, err = usersFromConfig(cfg, identities, a.store, a.clock, a.log.With("component", "directory"), a.hints.set, a.sipAddresses.set)
		if err != nil {
			return nil, err
		}
	}

	// The event path, built from its end: the webhook outbox is the event
	// log's durable sink; the log feeds the API's stream; the presence
	// scheduler and the engine's health reports publish on the log.
	if len(cfg.Webhooks) > 0 {
		a.dispatcher, err = webhook.New(webhook.Options{
			Outbox:       a.webhookOutbox(),
			PollInterval: a.webhookPoll(),
			Endpoints:    webhookEndpoints(cfg.Webhooks),
			Clock:        a.clock,
			Logger:       a.log.With("component", "webhook"),
			Registerer:   a.registry,
		})
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
	}
	logOpts := events.Options{Clock: a.clock, Logger: a.log.With("component", "events"), Registerer: a.registry}
	if a.dispatcher != nil {
		logOpts.Sinks = []events.Sink{a.dispatcher}
	}
	if cfg.Connectors.SIP != nil {
		if a.sip, err = a.newSIPConnector(cfg.Connectors.SIP); err != nil {
			return nil, err
		}
		logOpts.Sinks = append(logOpts.Sinks, a.sip.Runner())
	}
	if a.stream, err = a.clusterEventStream(&logOpts); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.events, err = events.NewLog(logOpts)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.onClose(a.events.Close)
	if a.stream == nil {
		a.stream = a.events
	}
	a.health = newHealthEvents(a.events, a.clock, a.log.With("component", "events"))

	a.statusChanged = make(chan struct{}, 1)
	sink := &engineSink{health: a.health, users: &a.known, statusChanged: a.statusChanged}
	engOpts := engineOptions(cfg)
	engOpts.Store = a.engineStore()
	engOpts.Exchange = exchange
	engOpts.HandedOver = a.handedOver()
	engOpts.Clock = a.clock
	engOpts.Logger = a.log.With("component", "engine")
	engOpts.Registerer = a.registry
	engOpts.Sink = sink
	if opts.EngineTuning != nil {
		opts.EngineTuning(&engOpts)
	}
	a.engine, err = engine.New(engOpts)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}

	a.scheduler, err = presence.NewScheduler(presence.SchedulerOptions{
		Clock:      a.clock,
		Logger:     a.log.With("component", "presence"),
		Rules:      cfg.Presence.Compiled,
		Source:     presenceSource(a.store, a.engine, a.plannedUsers(), presenceDefaultZone(cfg)),
		Store:      a.store,
		Registerer: a.registry,
		// PublishBatch runs on the scheduler goroutine with every change
		// due at one instant; the event log writes their webhooks durably
		// in one transaction before returning (the scheduler saves the
		// presences after that). If that write fails the scheduler
		// publishes the changes again later (the event stream may then see
		// them twice), so no webhook is lost.
		PublishBatch: api.PresencePublisher{Events: a.events}.PublishBatch,
		// With PostgreSQL or bolt the changes and the presences are
		// written in one transaction instead (presencepublish.go).
		PublishSaving: a.presencePublishSaving(),
	})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	sink.presence = a.scheduler

	var deadLetters api.DeadLetterAdmin // nil without webhooks: the routes answer 501
	if a.dispatcher != nil {
		deadLetters = a.dispatcher
	}
	tokens, readTokens := config.SecretValues(cfg.API.Tokens), config.SecretValues(cfg.API.ReadTokens)
	syncView, groupView := graphViews(cfg.ExchangeOnline != nil, a.syncReads(), groupSource{a.engine})
	handler, err := api.New(api.Options{
		Presence:   a.presenceReads(),
		Sync:       syncView,
		Groups:     groupView,
		Exchange:   exchangeSource{a.engine},
		Agenda:     a.store,
		Overrides:  a.scheduler,
		DryRun:     a.scheduler,
		SyncNow:    a.engine,
		Events:     a.stream,
		Dashboard:  web.Handler(),
		Tokens:     tokens,
		ReadTokens: readTokens,
		Ready:      a.ready,
		Registerer: a.registry,
		Gatherer:   a.registry,
		Logger:     a.log.With("component", "api"),
		Clock:      a.clock,
		RevealPrivate: func(_ string, o calendar.Occurrence) bool {
			return a.scheduler.Rules().RevealsPrivate(o)
		},
		DeadLetters: deadLetters,
		Connectors:  a.connectorStatuses,
	})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}

	a.listener = opts.Listener
	if a.listener == nil {
		if err := api.RequireTokensUnlessLoopback(cfg.API.Listen, append(tokens, readTokens...)); err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		a.listener, err = net.Listen("tcp", cfg.API.Listen)
		if err != nil {
			return nil, &ListenError{Addr: cfg.API.Listen, Err: err}
		}
	}
	a.onClose(func() { _ = a.listener.Close() })
	a.server = api.NewServer(a.forwardToOwner(withGraphNotifications(handler, graphHook)), api.Limits{}, a.log.With("component", "http"))
	if cfg.API.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.API.TLSCertFile, cfg.API.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("app: loading the API TLS certificate %s: %w", cfg.API.TLSCertFile, err)
		}
		a.server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		a.listener = tls.NewListener(a.listener, a.server.TLSConfig)
		a.tls = true
	}
	if a.cluster != nil {
		a.cluster.coord.SetAPIURL(a.advertisedURL())
	}
	return a, nil
}

// ListenError reports that the API and dashboard address cannot be used.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	hint := "check api.listen (host:port)"
	if errors.Is(e.Err, syscall.EADDRINUSE) {
		hint = "is another calsync running? change api.listen"
	}
	return fmt.Sprintf("app: listening on %s for the API and dashboard: %v (%s)", e.Addr, e.Err, hint)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Addr is the address the API and dashboard listen on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// URL is the dashboard's base URL.
func (a *App) URL() string {
	scheme := "http"
	if a.tls {
		scheme = "https"
	}
	return scheme + "://" + a.Addr() + "/"
}

// Engine exposes the sync engine (status, groups) to commands and tests.
func (a *App) Engine() *engine.Engine { return a.engine }

// Scheduler exposes the presence scheduler.
func (a *App) Scheduler() *presence.Scheduler { return a.scheduler }

// Store exposes the store.
func (a *App) Store() store.Store { return a.store }

func (a *App) onClose(f func()) { a.cleanup = append(a.cleanup, f) }

func (a *App) close() {
	for i := len(a.cleanup) - 1; i >= 0; i-- {
		a.cleanup[i]()
	}
	a.cleanup = nil
}

func (a *App) ready(context.Context) error {
	if a.cluster != nil {
		return a.clusterReady()
	}
	counts := a.engine.StateCounts()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return errors.New("no mailboxes configured or loaded yet")
	}
	if counts[engine.StateLive] == 0 {
		return fmt.Errorf("no mailbox is live yet (%s)", stateSummary(counts))
	}
	return nil
}

// stateSummary lists mailbox counts per state for people ("50 backoff,
// 3 loading"), not as a Go map.
func stateSummary(counts map[string]int) string {
	states := make([]string, 0, len(counts))
	for s := range counts {
		states = append(states, s)
	}
	sort.Strings(states)
	parts := make([]string, 0, len(states))
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	return strings.Join(parts, ", ")
}

// Run runs the instance until ctx ends or reload/users refresh fails
// fatally, then shuts down gracefully (bounded) and closes the store.
func (a *App) Run(ctx context.Context, reload <-chan struct{}) error {
	defer a.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	usersStale, err := a.refreshUsers(ctx)
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	start := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	start("engine", a.engine.Run)
	start("presence", a.scheduler.Run)
	if a.dispatcher != nil {
		start("webhooks", a.dispatcher.Run)
	}
	if a.sip != nil {
		start("sip connector", a.sip.Run)
	}
	start("health events", a.health.run)
	start("initial sync progress", a.reportInitialSync)
	start("cluster", a.runCluster)
	start("event stream", a.tailEvents)
	start("users refresh", func(ctx context.Context) error { return a.usersLoop(ctx, reload, usersStale) })
	start("http", func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			// End the event streams first: Shutdown waits for handlers.
			a.events.Close()
			a.stream.Close()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = a.server.Shutdown(sctx)
		}()
		if err := a.server.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	a.log.Info("calsync running", "api", a.URL(), "mode", a.cfg.Exchange.Notifications.Mode)
	<-ctx.Done()
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// usersRetry is how soon an unavailable users directory is read again.
const usersRetry = 30 * time.Second

// refreshUsers reads the users sources and hands the set to the engine
// and the presence scheduler. stale is true when the directory failed and
// the last good list kept in the store was used instead.
func (a *App) refreshUsers(ctx context.Context) (stale bool, err error) {
	users, err := a.users(ctx)
	var se *directory.StaleError
	if errors.As(err, &se) {
		a.log.Warn("the users directory is unavailable; syncing the last good user list and retrying",
			"users", se.Users, "read_at", se.SavedAt.UTC().Format(time.RFC3339), "retry_in", usersRetry.String(), "err", se.Err)
		stale = true
	} else if err != nil {
		return false, fmt.Errorf("app: reading the users to sync: %w", err)
	}
	removed := a.known.set(users)
	if a.cluster != nil {
		// The coordinator hands this instance its share (applyOwned).
		a.cluster.coord.SetMailboxes(users)
		a.log.Info("users to sync in the cluster", "count", len(users), "instance", a.cfg.Cluster.InstanceID)
		return stale, nil
	}
	// Stop planning removed users before the engine deletes their stored
	// data, so that no late presence write recreates a record.
	for _, u := range removed {
		a.scheduler.RemoveUser(u)
		if a.sip != nil {
			a.sip.Runner().Remove(u) // a removing PUBLISH
		}
	}
	a.engine.SetMailboxes(users)
	a.setMemoryLimit(len(users))
	for _, u := range users {
		a.scheduler.AddUser(u)
	}
	if len(removed) > 0 {
		a.log.Info("users no longer synced", "count", len(removed), "first", removed[0])
	}
	a.log.Info("users to sync", "count", len(users))
	return stale, nil
}

// usersLoop re-reads the users on reload (SIGHUP) and periodically, every
// usersRetry while the directory is unavailable (stale: Run started with
// the kept list).
func (a *App) usersLoop(ctx context.Context, reload <-chan struct{}, stale bool) error {
	interval := directory.RefreshInterval(a.cfg.Users)
	next := func(stale bool) time.Duration {
		if stale {
			return min(interval, usersRetry)
		}
		return interval
	}
	t := a.clock.NewTimer(next(stale))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-reload:
			a.log.Info("reload requested: re-reading the users to sync")
		case <-t.C():
		}
		stale, err := a.refreshUsers(ctx)
		if err != nil {
			// Keep the previous set: a directory outage must not stop sync.
			a.log.Error("refreshing users failed; keeping the previous set", "err", err)
		}
		t.Reset(next(stale || err != nil))
	}
}
