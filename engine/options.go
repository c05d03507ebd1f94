package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// WindowConfig defines the rolling calendar window: from the start of the
// day DaysBefore days ago to the end of the day DaysAfter days ahead, in the
// mailbox's time zone. It rolls forward at local midnight.
type WindowConfig struct {
	DaysBefore int
	DaysAfter  int
	// Explicit keeps DaysBefore and DaysAfter as given when both are zero
	// (today only); otherwise zeros select the default 1 and 14.
	Explicit bool
	// DefaultTimeZone is used when Autodiscover reports no zone (nil = UTC).
	DefaultTimeZone *time.Location
}

// BudgetConfig bounds what the engine asks of Exchange at once. The
// defaults stay well below Exchange's default policy (EWSMaxConcurrency 27).
type BudgetConfig struct {
	// Concurrency is the number of EWS requests in flight overall (default 10).
	Concurrency int
	// PerServer is the number in flight per EWS endpoint (default 8).
	PerServer int
	// PerUser is the number in flight per impersonated mailbox (default 2).
	PerUser int
	// RequestsPerSecond paces request starts overall at a fixed rate;
	// negative: no pacing and a fixed Concurrency. 0 (default): adaptive —
	// no pacing, and the overall concurrency follows Exchange's answers
	// between 1 and min(Concurrency, 27): it rises while round trips stay
	// near their minimum and shrinks on ErrorServerBusy, HTTP 503,
	// ErrorExceededConnectionCount, timeouts and rising round trips
	// (budget_adaptive.go).
	RequestsPerSecond float64
	// MaxBackOff caps a server back-off hint (default 5 minutes).
	MaxBackOff time.Duration
	// ThrottlePause is the pause after a throttling error without a hint
	// (default 2 seconds).
	ThrottlePause time.Duration
	// CredentialPause is how long all EWS traffic waits after Exchange
	// rejects the service account's credentials (HTTP 401) before one
	// request tries again; it doubles after each rejected retry, up to
	// 15 minutes (default 10 seconds). It keeps calsync from locking the
	// account out in Active Directory.
	CredentialPause time.Duration
}

// Options configure an Engine. Zero values take the documented defaults.
type Options struct {
	// Store persists occurrences, checkpoints and status. Required.
	Store store.Store
	// Exchange talks EWS. Required.
	Exchange Exchange
	// Clock is the time source (default the wall clock).
	Clock clock.Clock
	// Logger receives structured logs (default discard).
	Logger *slog.Logger
	// Registerer receives the engine's metrics (nil = none).
	Registerer prometheus.Registerer

	// Mode is streaming (default) or pull.
	Mode Mode
	// Window is the rolling window (default 1 day before, 14 after).
	Window WindowConfig
	// CoalesceDelay is how long notifications for a mailbox are gathered
	// before the window is re-read (default 2 s: one change raises a burst
	// of events, and calendar work creates short-lived FreeBusy items, over
	// a few seconds; EWS guidance is to wait that long before re-reading).
	// Negative: no delay, the first notification triggers the re-read.
	CoalesceDelay time.Duration
	// ReconcileInterval re-reads every mailbox periodically even without
	// notifications (default 1 h, spread with jitter; negative disables).
	ReconcileInterval time.Duration
	// OOFInterval re-reads the automatic-reply settings, which raise no
	// notification, this often (spread with jitter). Zero or negative:
	// only at load, reconciliation and SyncNow (default).
	OOFInterval time.Duration
	// OOFPollInterval is the period in which every mailbox's
	// automatic-replies mail tip is polled (GetMailTips, many mailboxes per
	// request; see oofpoll.go) when the Exchange implements OOFTipReader:
	// a change is seen within about this long (default 60 s; negative
	// disables).
	OOFPollInterval time.Duration
	// PullInterval is the GetEvents period in pull mode (default 30 s).
	PullInterval time.Duration
	// PullTimeout is the pull subscription timeout (default 30 min).
	PullTimeout time.Duration
	// StreamTimeout is the ConnectionTimeout requested for streaming
	// connections, 1–30 minutes (default 30 min).
	StreamTimeout time.Duration
	// StreamRenewBefore renews a streaming connection this long before its
	// ConnectionTimeout ends (default 1 min, or a quarter of StreamTimeout
	// if that is shorter; must be less than StreamTimeout).
	StreamRenewBefore time.Duration
	// HeartbeatTimeout declares a silent streaming connection dead (default 90 s;
	// Exchange sends a heartbeat every 45 s).
	HeartbeatTimeout time.Duration
	// GroupSize is the maximum number of subscriptions per streaming
	// connection (default and maximum 200).
	GroupSize int
	// RegroupDelay gathers new subscriptions of a group before its
	// connections are re-opened with the new id set (default 500 ms).
	RegroupDelay time.Duration
	// CallTimeout bounds one EWS request (default 60 s).
	CallTimeout time.Duration
	// MaxViewEntries is CalendarView's MaxEntriesReturned (default 1000).
	MaxViewEntries int
	// RetryBase and RetryMax bound exponential back-off (defaults 1 s, 5 min).
	RetryBase time.Duration
	RetryMax  time.Duration
	// SlowRetry is the retry period for denied or unauthorised mailboxes
	// (default 15 min).
	SlowRetry time.Duration
	// DiscoverBatchDelay gathers Autodiscover lookups into one request of
	// up to 90 users (default 50 ms).
	DiscoverBatchDelay time.Duration
	// Budget bounds concurrency towards Exchange.
	Budget BudgetConfig
	// Sink receives calendar and status changes as they happen (nil =
	// none). See Sink for the calling rules.
	Sink Sink
	// HandedOver reports that a mailbox the engine stops syncing moved to
	// another instance of a cluster rather than leaving the configuration:
	// its stored data is then kept for the new owner, which resumes from
	// the stored window and sync state, and its subscription is left to
	// expire rather than ended with a request (nil: every removal ends the
	// subscription and deletes the data). Set, it also means a cluster: a
	// stored subscription is never resumed (worker_state.go resumable), as
	// the instance that stored it may still use it. It is an option rather than a wrapper around
	// Exchange so that the Exchange's optional interfaces (CalendarSyncer,
	// OOFTipReader, ZoneBatchReader) stay visible to the engine.
	HandedOver func(smtp string) bool
	// Seed makes jitter deterministic in tests (0 = random).
	Seed int64
}

func (o *Options) setDefaults() error {
	if o.Store == nil {
		return fmt.Errorf("engine: Options.Store is required")
	}
	if o.Exchange == nil {
		return fmt.Errorf("engine: Options.Exchange is required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.OOFPollInterval == 0 {
		o.OOFPollInterval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Sink == nil {
		o.Sink = noSink{}
	}
	switch o.Mode {
	case "":
		o.Mode = Streaming
	case Streaming, Pull:
	default:
		return fmt.Errorf("engine: unknown notification mode %q (want %q or %q)", o.Mode, Streaming, Pull)
	}
	if o.Window.DaysBefore == 0 && o.Window.DaysAfter == 0 && !o.Window.Explicit {
		o.Window.DaysBefore, o.Window.DaysAfter = 1, 14
	}
	if o.Window.DaysBefore < 0 || o.Window.DaysAfter < 0 || o.Window.DaysBefore+o.Window.DaysAfter > 700 {
		return fmt.Errorf("engine: window of %d days before and %d after is invalid (each ≥ 0, total ≤ 700)", o.Window.DaysBefore, o.Window.DaysAfter)
	}
	if o.Window.DefaultTimeZone == nil {
		o.Window.DefaultTimeZone = time.UTC
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.CoalesceDelay, 2*time.Second)
	def(&o.ReconcileInterval, time.Hour)
	def(&o.PullInterval, 30*time.Second)
	def(&o.PullTimeout, 30*time.Minute)
	def(&o.StreamTimeout, 30*time.Minute)
	def(&o.HeartbeatTimeout, 90*time.Second)
	def(&o.RegroupDelay, 500*time.Millisecond)
	def(&o.CallTimeout, 60*time.Second)
	def(&o.RetryBase, time.Second)
	def(&o.RetryMax, 5*time.Minute)
	def(&o.SlowRetry, 15*time.Minute)
	def(&o.DiscoverBatchDelay, 50*time.Millisecond)
	def(&o.Budget.MaxBackOff, 5*time.Minute)
	def(&o.Budget.ThrottlePause, 2*time.Second)
	def(&o.Budget.CredentialPause, 10*time.Second)
	if o.StreamTimeout < time.Minute || o.StreamTimeout > 30*time.Minute {
		return fmt.Errorf("engine: StreamTimeout %s out of range 1–30 minutes", o.StreamTimeout)
	}
	if o.StreamRenewBefore <= 0 || o.StreamRenewBefore >= o.StreamTimeout {
		// A renewal due when a connection opens would reopen it in a loop,
		// re-reading every member each time: with a short StreamTimeout
		// (1 min is allowed) renew a quarter of it before its end.
		o.StreamRenewBefore = min(time.Minute, o.StreamTimeout/4)
	}
	if o.PullTimeout < time.Minute || o.PullTimeout > 1440*time.Minute {
		return fmt.Errorf("engine: PullTimeout %s out of range 1–1440 minutes", o.PullTimeout)
	}
	if o.GroupSize <= 0 || o.GroupSize > 200 {
		o.GroupSize = 200
	}
	if o.MaxViewEntries <= 0 || o.MaxViewEntries > 1000 {
		o.MaxViewEntries = 1000
	}
	if o.Budget.Concurrency <= 0 {
		o.Budget.Concurrency = 10
	}
	if o.Budget.PerServer <= 0 {
		o.Budget.PerServer = 8
	}
	if o.Budget.PerUser <= 0 {
		o.Budget.PerUser = 2
	}
	return nil
}
