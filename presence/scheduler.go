package presence

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// planAhead is how much of a loaded plan the scheduler keeps: blocks up to
// the first one starting after now+planAhead. The user is reloaded before
// reaching it (spread over the last quarter), about once a day.
const planAhead = 36 * time.Hour

// ErrUnknownUser is returned (wrapped) for a user the scheduler does not plan.
var ErrUnknownUser = errors.New("presence: unknown user")

// Source gives the scheduler what it needs per user; the application
// implements it over the store (occurrences, automatic-reply settings),
// the engine's sync status (trust) and the configured users (time zone,
// language).
type Source interface {
	// Users lists the users to plan when Run starts.
	Users(ctx context.Context) ([]string, error)
	// Load returns the user's input for [from, to): the occurrences
	// overlapping it, the automatic-reply settings, whether the data is
	// trustworthy, the mailbox zone and language. Input.Override is ignored
	// (the scheduler owns overrides). An error wrapping ErrUnknownUser
	// removes the user.
	Load(ctx context.Context, user string, from, to time.Time) (Input, error)
}

// SchedulerOptions configures NewScheduler. Clock, Rules and Source are
// required.
type SchedulerOptions struct {
	Clock  clock.Clock
	Logger *slog.Logger
	Rules  *CompiledRules
	Source Source
	// Publish receives every real change (availability, status text,
	// profile or forward target changed), in order per user, from the Run
	// goroutine. It must not block for long.
	Publish func(Change)
	// PublishBatch, when set, is used instead of Publish: it receives all
	// the changes due at one instant in one call (10,000 users whose
	// meetings start at 09:00), sorted by user, so that the receiver can
	// make them durable together. It is called from the Run goroutine
	// before the presences are saved; it must not block for long. An
	// error means the changes could not be made durable (the webhook
	// outbox write failed): the scheduler then saves nothing and publishes
	// them again after RetryDelay, so receivers get them at least once.
	PublishBatch func([]Change) error
	// PublishSaving, when set, replaces PublishBatch and the Store's save
	// of the published changes: it receives the changes due at one
	// instant with the presence documents to store for them (user to
	// document, as SavePresences) and makes both durable together, in one
	// transaction. Publishing first and saving after, a crash in between
	// left a webhook already enqueued (and delivered) whose presence the
	// next owner or the restarted instance did not know: it published the
	// same presence again, naming no previous one. An error means neither
	// is durable; the changes are published again after RetryDelay.
	PublishSaving func(changes []Change, docs map[string][]byte) error
	// Store keeps the last published presence so that a restart emits only
	// real changes. Optional.
	Store store.PresenceStore
	// Lookback is how far before now occurrences are loaded, so that the
	// start of a running block is known (default 24h).
	Lookback time.Duration
	// Horizon is how far ahead occurrences are loaded (default 14 days); a
	// user is reloaded after about half of it even without changes.
	Horizon time.Duration
	// RetryDelay is the wait before reloading a user whose Load failed
	// (default 30s).
	RetryDelay time.Duration
	// Registerer receives the scheduler's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Scheduler keeps every user's presence current. All users share one
// min-heap of wake-up instants and one clock timer armed to the earliest,
// so an idle scheduler costs nothing until the next transition.
type Scheduler struct {
	clock   clock.Clock
	log     *slog.Logger
	source  Source
	publish func([]Change) error
	// publishSaving: SchedulerOptions.PublishSaving (nil: publish, then
	// save in the store).
	publishSaving func([]Change, map[string][]byte) error
	store         store.PresenceStore
	look          time.Duration
	horizon       time.Duration
	retry         time.Duration
	metrics       *schedulerMetrics

	kick chan struct{}

	mu    sync.Mutex
	rules *CompiledRules
	users map[string]*userState
	wakes wakeHeap
	dirty map[string]struct{}
	// stored holds presence loaded from the store for users not planned yet.
	stored map[string]storedPresence
	// removed holds users taken out by RemoveUser. A calendar or status
	// change reported for one of them afterwards (a late report of the
	// engine's retiring worker) must not plan it again; only AddUser does.
	removed map[string]struct{}
	// busy is true while Run works through an iteration (see idle).
	busy bool
	// firing is held by fireDue from choosing the changes until they are
	// published and saved (ReleaseUser waits for it; taken before mu).
	firing sync.Mutex
	// wakeups counts Run's loop iterations after start (benchmarks).
	wakeups atomic.Uint64
}

// userState is the scheduler's view of one user.
type userState struct {
	user string
	// calendar is the plan without override; effective includes it.
	calendar  *plan
	effective *plan
	override  *Override
	published *Presence
	wake      time.Time
	heapIndex int
	// needLoad is set when the user must be (re)loaded from the Source.
	needLoad bool
	// overrideDirty is set when the override changed and must be saved
	// even if the published presence does not change.
	overrideDirty bool
	refreshAt     time.Time
	// retryAt is when a failed load is retried; while needLoad is set and
	// it has not come, the previous plan keeps firing its transitions.
	retryAt time.Time
}

// storedPresence is the document kept in the PresenceStore: the published
// presence (fields inline, so it also decodes as a Presence) and the
// override in force, which survives restarts.
type storedPresence struct {
	Presence
	Override *Override `json:"override,omitempty"`
}

// NewScheduler validates the options and returns a scheduler; call Run.
func NewScheduler(opts SchedulerOptions) (*Scheduler, error) {
	if opts.Clock == nil || opts.Rules == nil || opts.Source == nil {
		return nil, errors.New("presence: SchedulerOptions needs Clock, Rules and Source")
	}
	s := &Scheduler{clock: opts.Clock, log: opts.Logger, source: opts.Source, publish: opts.PublishBatch, publishSaving: opts.PublishSaving, store: opts.Store,
		look: opts.Lookback, horizon: opts.Horizon, retry: opts.RetryDelay, rules: opts.Rules,
		busy: true, kick: make(chan struct{}, 1), users: map[string]*userState{}, dirty: map[string]struct{}{}, stored: map[string]storedPresence{},
		removed: map[string]struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.look <= 0 {
		s.look = 24 * time.Hour
	}
	if s.horizon <= 0 {
		s.horizon = 14 * 24 * time.Hour
	}
	if s.retry <= 0 {
		s.retry = 30 * time.Second
	}
	if s.publish == nil && opts.Publish != nil {
		s.publish = func(cs []Change) error {
			for _, c := range cs {
				opts.Publish(c)
			}
			return nil
		}
	}
	if s.publish == nil {
		s.publish = func([]Change) error { return nil }
	}
	m, err := newSchedulerMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	return s, nil
}

// Run loads the stored presence and the users, plans them and fires
// transitions until ctx is done. It returns ctx's error, or an error when
// the users or stored presence cannot be read at start.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.store != nil {
		docs, err := s.store.LoadPresence(ctx)
		if err != nil {
			return fmt.Errorf("presence: load stored presence: %w", err)
		}
		s.mu.Lock()
		for user, doc := range docs {
			var sp storedPresence
			if err := json.Unmarshal(doc, &sp); err != nil {
				s.log.Warn("presence: ignoring unreadable stored presence", "user", user, "err", err)
				continue
			}
			if st := s.users[user]; st != nil {
				// Added by CalendarChanged before Run started.
				if st.published == nil {
					p := sp.Presence
					st.published, st.override = &p, sp.Override
				}
				continue
			}
			s.stored[user] = sp
		}
		s.mu.Unlock()
	}
	users, err := s.source.Users(ctx)
	if err != nil {
		return fmt.Errorf("presence: list users: %w", err)
	}
	s.mu.Lock()
	for _, u := range users {
		s.ensureLocked(u)
	}
	s.mu.Unlock()

	timer := s.clock.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.loadDirty(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.fireDue(ctx)
		s.mu.Lock()
		pending := len(s.dirty) > 0
		var wake time.Time
		armed := len(s.wakes) > 0
		if armed {
			wake = s.wakes[0].wake
		}
		s.mu.Unlock()
		if pending {
			continue
		}
		if armed {
			timer.Reset(max(wake.Sub(s.clock.Now()), 0))
			if !s.clock.Now().Before(wake) {
				// Due already (the clock moved while arming): go round
				// again instead of trusting the timer.
				timer.Stop()
				continue
			}
		}
		s.mu.Lock()
		s.busy = len(s.dirty) > 0
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C():
		case <-s.kick:
			timer.Stop()
		}
		s.wakeups.Add(1)
		s.setBusy()
	}
}

func (s *Scheduler) setBusy() {
	s.mu.Lock()
	s.busy = true
	s.mu.Unlock()
}

// idle reports whether Run has nothing to do until its timer fires: no
// user to load, no due wake-up, not inside an iteration. Tests poll it.
func (s *Scheduler) idle() bool {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.busy && len(s.dirty) == 0 && (len(s.wakes) == 0 || s.wakes[0].wake.After(now))
}

// ensureLocked returns the user's state, creating it (to be loaded).
func (s *Scheduler) ensureLocked(user string) *userState {
	st := s.users[user]
	if st == nil {
		st = &userState{user: user, heapIndex: -1, needLoad: true}
		if sp, ok := s.stored[user]; ok {
			p := sp.Presence
			st.published = &p
			st.override = sp.Override
			delete(s.stored, user)
		}
		s.users[user] = st
		s.metrics.users.Set(float64(len(s.users)))
	}
	if st.needLoad {
		s.dirty[user] = struct{}{}
	}
	return st
}

func (s *Scheduler) wakeUp() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// CalendarChanged asks the scheduler to reload and re-plan a user (after
// the engine committed a change, or when the sync status changed). An
// unknown user is added. It never blocks.
func (s *Scheduler) CalendarChanged(user string) {
	s.mu.Lock()
	if _, gone := s.removed[user]; gone {
		s.mu.Unlock()
		return
	}
	st := s.ensureLocked(user)
	st.needLoad = true
	s.dirty[user] = struct{}{}
	s.mu.Unlock()
	s.wakeUp()
}

// AddUser plans a user: a new one, or one taken out by RemoveUser before.
func (s *Scheduler) AddUser(user string) {
	s.mu.Lock()
	delete(s.removed, user)
	s.mu.Unlock()
	s.CalendarChanged(user)
}

// RemoveUser stops planning a user, until AddUser plans it again; calendar
// changes reported for it in between are ignored. Its stored presence is
// kept.
func (s *Scheduler) RemoveUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(user)
	s.removed[user] = struct{}{}
}

func (s *Scheduler) removeLocked(user string) {
	st := s.users[user]
	if st == nil {
		return
	}
	if st.heapIndex >= 0 {
		heap.Remove(&s.wakes, st.heapIndex)
	}
	delete(s.users, user)
	delete(s.dirty, user)
	s.metrics.users.Set(float64(len(s.users)))
}

// UpdateRules replaces the rule set and re-plans every user.
func (s *Scheduler) UpdateRules(rules *CompiledRules) {
	if rules == nil {
		return
	}
	s.mu.Lock()
	s.rules = rules
	for u, st := range s.users {
		st.needLoad = true
		s.dirty[u] = struct{}{}
	}
	s.mu.Unlock()
	s.wakeUp()
}

// Rules returns the rule set in force.
func (s *Scheduler) Rules() *CompiledRules {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rules
}

// SetOverride sets a manual override for a user, effective now, and
// returns the resulting presence; the change is published by Run. A zero
// o.Until means "until the next calendar transition".
func (s *Scheduler) SetOverride(ctx context.Context, user string, o Override) (Presence, error) {
	if err := ctx.Err(); err != nil {
		return Presence{}, err
	}
	now := s.clock.Now()
	if o.SetAt.IsZero() {
		o.SetAt = now
	}
	if a, ok := parseAvailability(string(o.Availability)); ok {
		o.Availability = a
	}
	if err := o.Validate(); err != nil {
		return Presence{}, err
	}
	if !o.Until.IsZero() && !o.Until.After(now) {
		return Presence{}, fmt.Errorf("presence: override ends (%s) in the past", o.Until.Format(time.RFC3339))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.users[user]
	if st == nil {
		return Presence{}, fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	st.override = &o
	st.overrideDirty = true
	s.applyPlanLocked(st, now)
	s.wakeUp()
	return s.currentLocked(st, now), nil
}

// ClearOverride removes a user's override and returns the calendar presence.
func (s *Scheduler) ClearOverride(ctx context.Context, user string) (Presence, error) {
	if err := ctx.Err(); err != nil {
		return Presence{}, err
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.users[user]
	if st == nil {
		return Presence{}, fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	st.override = nil
	st.overrideDirty = true
	s.applyPlanLocked(st, now)
	s.wakeUp()
	return s.currentLocked(st, now), nil
}

// Current returns a user's presence now; ok is false for an unknown user.
func (s *Scheduler) Current(user string) (Presence, bool) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.users[user]
	if st == nil {
		return Presence{}, false
	}
	return s.currentLocked(st, now), true
}

// All returns every planned user's presence now, sorted by user.
func (s *Scheduler) All() []Presence {
	now := s.clock.Now()
	s.mu.Lock()
	out := make([]Presence, 0, len(s.users))
	for _, st := range s.users {
		out = append(out, s.currentLocked(st, now))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

func (s *Scheduler) currentLocked(st *userState, now time.Time) Presence {
	if st.effective == nil {
		return Presence{User: st.user, Availability: Unknown, ComputedAt: now,
			Why: Reason{Source: "no_data", Detail: "calendar not loaded yet"}}
	}
	return st.effective.at(now)
}

// DryRun previews a user's presence segments over [from, to) under rules
// (nil: the rules in force), without overrides. It reads the Source. An
// error wrapping ErrUnknownUser means the user is not planned.
func (s *Scheduler) DryRun(ctx context.Context, user string, rules *CompiledRules, from, to time.Time) ([]Presence, error) {
	s.mu.Lock()
	_, known := s.users[user]
	if rules == nil {
		rules = s.rules
	}
	s.mu.Unlock()
	if !known {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	if !to.After(from) {
		return nil, fmt.Errorf("presence: dry run range ends (%s) before it starts (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	loadFrom := from.Add(-s.look)
	in, err := s.source.Load(ctx, user, loadFrom, to)
	if err != nil {
		return nil, fmt.Errorf("presence: dry run for %q: %w", user, err)
	}
	in.User, in.Override = user, nil
	if in.Window.IsZero() {
		in.Window = calendarWindow(loadFrom, to)
	}
	return Timeline(in, rules, from, to), nil
}

// loadDirty reloads every user marked dirty, outside the lock.
func (s *Scheduler) loadDirty(ctx context.Context) {
	s.mu.Lock()
	users := make([]string, 0, len(s.dirty))
	for u := range s.dirty {
		users = append(users, u)
	}
	clear(s.dirty)
	rules := s.rules
	s.mu.Unlock()
	sort.Strings(users)
	// Loads run a few at a time: on PostgreSQL each is two round trips,
	// and a cluster instance that takes over a thousand users loaded
	// them one by one for 15–20 s on a busy machine before their
	// presence was right. Each chunk is applied in order once loaded.
	for start := 0; start < len(users); start += loadChunk {
		if ctx.Err() != nil {
			return
		}
		chunk := users[start:min(start+loadChunk, len(users))]
		now := s.clock.Now()
		from, to := now.Add(-s.look), now.Add(s.horizon)
		loaded := s.loadAll(ctx, chunk, from, to)
		for i, u := range chunk {
			s.applyLoad(u, loaded[i].in, loaded[i].err, now, from, to, rules)
		}
	}
}

// loadChunk and loadParallel: how many dirty users are loaded before
// their plans are applied, and how many loads are in flight.
const (
	loadChunk    = 64
	loadParallel = 8
)

type loadResult struct {
	in  Input
	err error
}

// loadAll loads users from the source, loadParallel at a time.
func (s *Scheduler) loadAll(ctx context.Context, users []string, from, to time.Time) []loadResult {
	out := make([]loadResult, len(users))
	sem := make(chan struct{}, loadParallel)
	var wg sync.WaitGroup
	for i, u := range users {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i].in, out[i].err = s.source.Load(ctx, u, from, to)
			s.metrics.loads.Inc()
		})
	}
	wg.Wait()
	return out
}

// applyLoad plans user u from what its load returned.
func (s *Scheduler) applyLoad(u string, in Input, err error, now, from, to time.Time, rules *CompiledRules) {
	s.mu.Lock()
	st := s.users[u]
	switch {
	case st == nil:
		// Removed meanwhile.
	case errors.Is(err, ErrUnknownUser):
		s.removeLocked(u)
	case err != nil:
		s.metrics.loadErrors.Inc()
		s.log.Warn("presence: loading calendar failed; keeping the previous plan", "user", u, "err", err)
		st.retryAt = now.Add(s.retry)
		if st.effective != nil {
			// Keep firing the previous plan's transitions until the
			// retry (fireDue evaluates it now and wakes at its next
			// boundary or at retryAt, whichever comes first).
			s.scheduleLocked(st, now)
		} else {
			s.scheduleLocked(st, st.retryAt)
		}
	case s.rules != rules:
		// Rules changed while loading: load again with the new ones.
		s.dirty[u] = struct{}{}
	default:
		in.User, in.Override = u, nil
		if in.Window.IsZero() {
			in.Window = calendarWindow(from, to)
		}
		st.calendar = calendarPlan(in, rules)
		st.needLoad = false
		st.refreshAt = now.Add(s.horizon/2 + jitter(u, s.horizon/4))
		if limit := st.calendar.compact(now, planAhead); limit.Before(farFuture) {
			st.refreshAt = minTime(st.refreshAt, limit.Add(-jitter(u, planAhead/4)))
		}
		s.applyPlanLocked(st, now)
	}
	s.mu.Unlock()
}

// applyPlanLocked recomputes the effective plan and makes the user due now.
func (s *Scheduler) applyPlanLocked(st *userState, now time.Time) {
	if st.calendar == nil {
		return
	}
	if st.override != nil {
		end := st.calendar.overrideEnd(*st.override)
		if !end.After(now) {
			// Ended: save that even if the presence does not change, or
			// a restart would bring the override back.
			st.override = nil
			st.overrideDirty = true
		}
	}
	st.effective = st.calendar.withOverride(st.override)
	s.scheduleLocked(st, now)
}

func (s *Scheduler) scheduleLocked(st *userState, at time.Time) {
	st.wake = at
	if st.heapIndex >= 0 {
		heap.Fix(&s.wakes, st.heapIndex)
	} else {
		heap.Push(&s.wakes, st)
	}
}

// fireDue evaluates every user whose wake-up is due and publishes real changes.
func (s *Scheduler) fireDue(ctx context.Context) {
	s.firing.Lock()
	defer s.firing.Unlock()
	now := s.clock.Now()
	var pubs []pub
	s.mu.Lock()
	for len(s.wakes) > 0 && !s.wakes[0].wake.After(now) {
		st := s.wakes[0]
		// A user marked dirty again (its calendar changed while it was
		// being loaded, or since loadDirty ran) is reloaded before its
		// plan may publish anything: that plan may be outdated already.
		_, reload := s.dirty[st.user]
		if reload || st.effective == nil || (st.needLoad && !now.Before(st.retryAt)) {
			heap.Pop(&s.wakes)
			s.dirty[st.user] = struct{}{}
			st.needLoad = true
			continue
		}
		if !st.needLoad && !now.Before(st.refreshAt) {
			heap.Pop(&s.wakes)
			st.needLoad = true
			s.dirty[st.user] = struct{}{}
			continue
		}
		if st.override != nil && !st.calendar.overrideEnd(*st.override).After(now) {
			// The override ended at a boundary already in the plan. Save
			// that even if the presence does not change (overrideDirty),
			// or a restart would bring the override back.
			st.override = nil
			st.overrideDirty = true
			st.effective = st.calendar
		}
		p := st.effective.at(now)
		if st.published == nil && st.calendar.pending && st.override == nil {
			// First load still running: an interim unknown would only be
			// followed by the real state moments later. Say nothing until
			// then (the engine's CalendarChanged brings it).
		} else if st.published == nil || realChange(*st.published, p) {
			c := Change{User: st.user, Current: p, At: now}
			if st.published != nil {
				prev := *st.published
				c.Previous = &prev
			}
			pubs = append(pubs, pub{change: c, doc: storedPresence{Presence: p, Override: st.override}})
			st.published = &p
			st.overrideDirty = false
		} else if st.overrideDirty {
			pubs = append(pubs, pub{change: Change{User: st.user}, doc: storedPresence{Presence: *st.published, Override: st.override}, saveOnly: true})
			st.overrideDirty = false
		}
		// The next boundary, bounded by the periodic reload or, while a
		// failed load waits for its retry, by the retry. (A boundary not
		// after now happens only on a plan kept past its compacted end
		// because loads fail; the retry is then the next wake-up.)
		limit := st.refreshAt
		if st.needLoad {
			limit = st.retryAt
		}
		next, ok := st.effective.nextBoundary(now)
		if !ok || next.After(limit) || !next.After(now) {
			next = limit
		}
		s.scheduleLocked(st, next)
	}
	s.mu.Unlock()
	if len(pubs) == 0 {
		return
	}
	sort.SliceStable(pubs, func(i, j int) bool { return pubs[i].change.User < pubs[j].change.User })
	// Publish first, then record: a crash in between re-publishes the
	// changes after the restart (at least once) instead of losing them —
	// unless PublishSaving makes both durable in one transaction.
	// Everything due at this instant goes out in one batch and is saved
	// in one transaction, so a burst costs two durable writes, not two
	// per user (one with PublishSaving).
	changes := make([]Change, 0, len(pubs))
	var saveOnly []string
	for _, p := range pubs {
		if p.saveOnly {
			saveOnly = append(saveOnly, p.change.User)
			continue
		}
		s.metrics.transitions.WithLabelValues(string(p.change.Current.Availability)).Inc()
		changes = append(changes, p.change)
	}
	docs := s.encodeDocs(pubs)
	if len(changes) > 0 && s.publishSaving != nil {
		if err := s.publishSaving(changes, docs); err != nil {
			s.unpublish(changes, saveOnly, now, err)
		}
		return
	}
	if len(changes) > 0 {
		if err := s.publish(changes); err != nil {
			s.unpublish(changes, saveOnly, now, err)
			return
		}
	}
	if s.store == nil {
		return
	}
	if err := s.store.SavePresences(ctx, docs); err != nil {
		// As with a crash, the changes are published again after a restart.
		s.log.Warn("presence: saving published presence failed", "users", len(docs), "err", err)
	}
}

// encodeDocs returns the documents to store for what fireDue publishes
// and saves, by user (a later entry for the same user wins).
func (s *Scheduler) encodeDocs(pubs []pub) map[string][]byte {
	docs := make(map[string][]byte, len(pubs))
	for _, p := range pubs {
		doc, err := json.Marshal(p.doc)
		if err != nil {
			s.log.Warn("presence: encoding published presence failed", "user", p.change.User, "err", err)
			continue
		}
		docs[p.change.User] = doc
	}
	return docs
}

// pub is one user's outcome of fireDue: a change to publish and the
// document to save.
type pub struct {
	change Change
	doc    storedPresence
	// saveOnly stores doc without publishing (override bookkeeping).
	saveOnly bool
}

// unpublish takes back changes their receiver could not make
// durable: the users' last published presence reverts, nothing is saved (a
// restart publishes them again too), and the users wake again after the
// retry delay, or at their next boundary if that is sooner.
func (s *Scheduler) unpublish(changes []Change, saveOnly []string, now time.Time, err error) {
	s.log.Warn("presence: publishing changes failed; they are published again after the retry delay",
		"changes", len(changes), "retry_in", s.retry.String(), "err", err)
	s.mu.Lock()
	defer s.mu.Unlock()
	retryAt := now.Add(s.retry)
	retry := func(user string) *userState {
		st := s.users[user]
		if st == nil {
			return nil
		}
		// Nothing was saved: an ended override must still be recorded even
		// if the retry finds no visible change.
		st.overrideDirty = true
		if st.wake.After(retryAt) || st.heapIndex < 0 {
			s.scheduleLocked(st, retryAt)
		}
		return st
	}
	for _, c := range changes {
		if st := retry(c.User); st != nil {
			st.published = c.Previous
		}
	}
	for _, u := range saveOnly {
		retry(u)
	}
}

// realChange reports whether b differs from a in what consumers act on.
func realChange(a, b Presence) bool {
	return a.Availability != b.Availability || a.StatusText != b.StatusText || a.Profile != b.Profile || a.ForwardTo != b.ForwardTo
}

// jitter spreads periodic reloads of different users over [0, span).
func jitter(user string, span time.Duration) time.Duration {
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(user))
	return time.Duration(h.Sum64() % uint64(span))
}

// wakeHeap is a min-heap of users by wake-up instant.
type wakeHeap []*userState

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].wake.Before(h[j].wake) }
func (h wakeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = i
	h[j].heapIndex = j
}
func (h *wakeHeap) Push(x any) {
	st := x.(*userState)
	st.heapIndex = len(*h)
	*h = append(*h, st)
}
func (h *wakeHeap) Pop() any {
	old := *h
	n := len(old)
	st := old[n-1]
	old[n-1] = nil
	st.heapIndex = -1
	*h = old[:n-1]
	return st
}

type schedulerMetrics struct {
	users       prometheus.Gauge
	loads       prometheus.Counter
	loadErrors  prometheus.Counter
	transitions *prometheus.CounterVec
}

func newSchedulerMetrics(reg prometheus.Registerer) (*schedulerMetrics, error) {
	m := &schedulerMetrics{
		users: prometheus.NewGauge(prometheus.GaugeOpts{Name: "calsync_presence_users", Help: "Users planned by the presence scheduler."}),
		loads: prometheus.NewCounter(prometheus.CounterOpts{Name: "calsync_presence_loads_total", Help: "Calendar loads (re-plans) by the presence scheduler."}),
		loadErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "calsync_presence_load_errors_total",
			Help: "Calendar loads that failed; the previous plan was kept."}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calsync_presence_transitions_total",
			Help: "Published presence changes by new availability."}, []string{"availability"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.users, m.loads, m.loadErrors, m.transitions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("presence: register metrics: %w", err)
		}
	}
	return m, nil
}
