// Package ewsmem is an in-memory Exchange 2016/2019 mailbox server farm: the
// model behind calsync's EWS simulator. It keeps mailboxes with calendar
// folders, recurring items, sync states, notification subscriptions,
// throttling budgets, impersonation rights and mailbox-server affinity, and
// implements the ewsserver.Backend interfaces so that ewsserver.Handler
// speaks EWS for it. It holds Exchange's behaviour only: fault injection,
// churn, the calendar generator and the /sim/v1 control API are test
// machinery and live on top of it in ewssim.
//
// All times come from the injected clock. An Exchange is safe for concurrent
// use. Lock order: Exchange.mu, then mailbox.mu, then subscription state
// (Exchange.subMu); throttler.mu is a leaf.
package ewsmem

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/internal/clock"
)

// Options configures an Exchange. The zero value is usable: real clock,
// discarded logs, domain example.com, no mailboxes, one server, default
// throttling.
type Options struct {
	// Clock is the time source (default clock.Real{}).
	Clock clock.Clock
	// Logger receives diagnostics (default: discard).
	Logger *slog.Logger
	// Domain is the SMTP domain of generated mailboxes (default example.com).
	Domain string
	// Mailboxes is how many mailboxes user1@Domain … userN@Domain to create.
	Mailboxes int
	// Servers is the number of simulated mailbox servers (default 1).
	Servers int
	// Seed makes routing reproducible.
	Seed uint64
	// Policy is the throttling policy (default DefaultPolicy()).
	Policy *Policy
	// ServiceAccount is the account holding ApplicationImpersonation
	// (default svc-calsync@Domain). Empty password means "password".
	ServiceAccount string
	// Password is the service account's password; users get the same one.
	Password string
	// ImpersonationScope limits the service account's ApplicationImpersonation
	// to these addresses; nil means the whole organisation.
	ImpersonationScope []string
	// StreamingHeartbeat is the ConnectionStatus OK cadence (default 45 s).
	StreamingHeartbeat time.Duration
	// StreamingTTL is how long a streaming subscription lives without a
	// connection (default 30 min).
	StreamingTTL time.Duration
	// StreamingQueue is the per-subscription event queue (default 500).
	StreamingQueue int
	// AvailabilityWindow is the longest GetUserAvailability window (default 62 days).
	AvailabilityWindow time.Duration
	// DuplicateModified makes each modification produce a second
	// ModifiedEvent in a later batch, as real servers do (default on; set
	// NoDuplicates to switch off).
	NoDuplicates bool
	// MaxEventsPerGetEvents is GetEvents' batch size (default 50).
	MaxEventsPerGetEvents int
	// EventHistory is how many recent events of the organisation the
	// event table keeps for Subscribe with a watermark (default 10000;
	// Exchange keeps about 30 days): an older watermark answers
	// ErrorInvalidWatermark.
	EventHistory int
	// MissingAnchorLatency is added to impersonated requests whose
	// X-AnchorMailbox is missing or names another mailbox (the proxying
	// Exchange does then); 0 = none.
	MissingAnchorLatency time.Duration
	// MissingAnchorFailPercent answers that share of such requests with
	// the fault ErrorNoRespondingCASInDestinationSite; 0 = never.
	MissingAnchorFailPercent int
	// BatchTimeLimit is how long the items of one GetItem, CreateItem,
	// UpdateItem or DeleteItem request may execute before the rest answer
	// ErrorBatchProcessingStopped (default 60 s: "EWS limits the execution
	// time of a batch request to one minute"; negative = no limit). Only
	// the simulated execution time of the item-latency fault counts.
	BatchTimeLimit time.Duration
	// CalendarViewRestrictionCode is the response code of a CalendarView
	// FindItem that carries a Restriction or SortOrder (default
	// ErrorInvalidRestriction). The message text is Exchange's ("Restrictions
	// and sort order may not be specified for a CalendarView.",
	// jamesiarmes/php-ews#164); the code is not documented: the EWS facts
	// name none and Microsoft's ResponseCode reference lists
	// ErrorInvalidRestriction as "not used", so it is unverified and a knob.
	CalendarViewRestrictionCode ews.ResponseCode
	// MaxMailTipsRecipients is MaxRecipientsPerGetMailTipsRequest, the
	// recipients one GetMailTips may name, as GetServiceConfiguration
	// reports it (default ews.DefaultMaxMailTipsRecipients, 50: a choice,
	// the facts give no number and tell clients to ask the server; a knob
	// so that clients can be tested against servers with other limits).
	MaxMailTipsRecipients int
	// ExternalURL is the public base URL (scheme://host) used in Autodiscover
	// answers; the handler fills it from the request when empty.
	ExternalURL string
	// PushClient posts push notifications (default: an http.Client with a
	// 30 s timeout).
	PushClient PushPoster
	// Conditions are the operating conditions the model consults (default:
	// a healthy farm); the simulator's fault injection supplies them.
	Conditions Conditions
}

// Exchange is the simulated Exchange organisation.
type Exchange struct {
	opts  Options
	clock clock.Clock
	log   *slog.Logger

	mu        sync.RWMutex
	mailboxes map[string]*mailbox // lower-case SMTP
	order     []string
	accounts  map[string]*account
	servers   []string // FQDNs
	rng       *rand.Rand
	rngMu     sync.Mutex
	epoch     uint32 // bumped on restart

	throttle     *throttler
	subs         *subscriptions
	conditions   Conditions
	stats        statsState
	pushWG       sync.WaitGroup
	anchorMisses atomic.Int64
	hosting      hosting // cloud mailboxes and moves (hosting.go)
}

// account is a principal that can authenticate.
type account struct {
	name          string
	password      string
	impersonation bool
	scope         map[string]bool // nil = all
	fullAccess    map[string]bool // mailboxes with FullAccess; "*" = all
}

// New creates an Exchange with the configured mailboxes.
func New(opts Options) (*Exchange, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Domain == "" {
		opts.Domain = "example.com"
	}
	if opts.Servers <= 0 {
		opts.Servers = 1
	}
	if opts.Mailboxes < 0 {
		return nil, fmt.Errorf("ewsmem: negative mailbox count %d", opts.Mailboxes)
	}
	if opts.ServiceAccount == "" {
		opts.ServiceAccount = "svc-calsync@" + opts.Domain
	}
	if opts.Password == "" {
		opts.Password = "password"
	}
	if opts.StreamingHeartbeat <= 0 {
		opts.StreamingHeartbeat = 45 * time.Second
	}
	if opts.StreamingTTL <= 0 {
		opts.StreamingTTL = 30 * time.Minute
	}
	if opts.StreamingQueue <= 0 {
		opts.StreamingQueue = 500
	}
	if opts.AvailabilityWindow <= 0 {
		opts.AvailabilityWindow = 62 * 24 * time.Hour
	}
	if opts.BatchTimeLimit == 0 {
		opts.BatchTimeLimit = time.Minute
	}
	if opts.MaxMailTipsRecipients <= 0 {
		opts.MaxMailTipsRecipients = ews.DefaultMaxMailTipsRecipients
	}
	if opts.CalendarViewRestrictionCode == "" {
		opts.CalendarViewRestrictionCode = ews.ErrorInvalidRestriction
	}
	if opts.EventHistory <= 0 {
		opts.EventHistory = 10000
	}
	if opts.MaxEventsPerGetEvents <= 0 {
		opts.MaxEventsPerGetEvents = 50
	}
	if opts.Conditions == nil {
		opts.Conditions = healthy{}
	}
	if opts.PushClient == nil {
		opts.PushClient = &ewsserver.PushPoster{Client: &http.Client{Timeout: 30 * time.Second}}
	}
	policy := DefaultPolicy()
	if opts.Policy != nil {
		policy = *opts.Policy
	}
	x := &Exchange{
		opts:       opts,
		clock:      opts.Clock,
		log:        opts.Logger,
		mailboxes:  map[string]*mailbox{},
		accounts:   map[string]*account{},
		rng:        rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		throttle:   newThrottler(opts.Clock, policy),
		conditions: opts.Conditions,
	}
	x.subs = newSubscriptions(x)
	x.stats.init()
	for i := 1; i <= opts.Servers; i++ {
		x.servers = append(x.servers, fmt.Sprintf("mbx%02d.%s", i, opts.Domain))
	}
	svc := &account{name: strings.ToLower(opts.ServiceAccount), password: opts.Password, impersonation: true}
	if opts.ImpersonationScope != nil {
		svc.scope = map[string]bool{}
		for _, a := range opts.ImpersonationScope {
			svc.scope[strings.ToLower(a)] = true
		}
	}
	x.accounts[svc.name] = svc
	if _, err := x.AddMailbox(svc.name, "Calendar Sync Service"); err != nil {
		return nil, err
	}
	for i := 1; i <= opts.Mailboxes; i++ {
		addr := fmt.Sprintf("user%d@%s", i, opts.Domain)
		if _, err := x.AddMailbox(addr, fmt.Sprintf("User %d", i)); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Clock returns the Exchange's clock.
func (x *Exchange) Clock() clock.Clock { return x.clock }

// ServiceAccount returns the service account's address.
func (x *Exchange) ServiceAccount() string { return strings.ToLower(x.opts.ServiceAccount) }

// Servers lists the simulated mailbox servers' FQDNs.
func (x *Exchange) Servers() []string { return append([]string(nil), x.servers...) }

// ErrMailboxExists reports an AddMailbox for an address already present.
var ErrMailboxExists = errors.New("ewsmem: mailbox already exists")

// ErrNoMailbox reports an unknown mailbox address.
var ErrNoMailbox = errors.New("ewsmem: no such mailbox")

// AddMailbox creates a mailbox (and a user account with the common
// password) on the next server in turn.
func (x *Exchange) AddMailbox(smtp, displayName string) (string, error) {
	key := strings.ToLower(strings.TrimSpace(smtp))
	if !strings.Contains(key, "@") {
		return "", fmt.Errorf("ewsmem: mailbox address %q has no domain", smtp)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.mailboxes[key]; ok {
		return "", fmt.Errorf("%w: %s", ErrMailboxExists, key)
	}
	n := len(x.order)
	mb := newMailbox(x, key, displayName, n, n%len(x.servers))
	x.mailboxes[key] = mb
	x.order = append(x.order, key)
	if _, ok := x.accounts[key]; !ok {
		x.accounts[key] = &account{name: key, password: x.opts.Password}
	}
	return key, nil
}

// Mailboxes lists all mailbox addresses in creation order.
func (x *Exchange) Mailboxes() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return append([]string(nil), x.order...)
}

func (x *Exchange) mailbox(smtp string) (*mailbox, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	mb, ok := x.mailboxes[strings.ToLower(smtp)]
	return mb, ok
}

// GrantFullAccess gives account FullAccess to mailbox ("*" = all mailboxes).
func (x *Exchange) GrantFullAccess(accountName, mailboxAddr string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	a, ok := x.accounts[strings.ToLower(accountName)]
	if !ok {
		return fmt.Errorf("%w: account %s", ErrNoMailbox, accountName)
	}
	if a.fullAccess == nil {
		a.fullAccess = map[string]bool{}
	}
	a.fullAccess[strings.ToLower(mailboxAddr)] = true
	return nil
}

// SetImpersonationScope sets the service account's ApplicationImpersonation
// management scope; nil means all mailboxes, an empty slice removes the role.
func (x *Exchange) SetImpersonationScope(accountName string, scope []string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	a, ok := x.accounts[strings.ToLower(accountName)]
	if !ok {
		return fmt.Errorf("%w: account %s", ErrNoMailbox, accountName)
	}
	switch {
	case scope == nil:
		a.impersonation, a.scope = true, nil
	case len(scope) == 0:
		a.impersonation, a.scope = false, nil
	default:
		a.impersonation = true
		a.scope = map[string]bool{}
		for _, s := range scope {
			a.scope[strings.ToLower(s)] = true
		}
	}
	return nil
}

// SetPolicy replaces the throttling policy.
func (x *Exchange) SetPolicy(p Policy) { x.throttle.setPolicy(p) }

// Policy returns the throttling policy in force.
func (x *Exchange) Policy() Policy { return x.throttle.currentPolicy() }

// CheckPassword verifies an account's password (for Basic auth).
func (x *Exchange) CheckPassword(user, password string) (string, bool) {
	name, pw, ok := x.Password(user)
	if !ok {
		return "", false
	}
	return name, constantTimeEqual(pw, password)
}

// Password returns the canonical account name and its password (for NTLM,
// which needs the secret to verify a response). user may be an SMTP address,
// a bare user name or DOMAIN\user.
func (x *Exchange) Password(user string) (name, password string, ok bool) {
	u := strings.ToLower(user)
	if i := strings.LastIndex(u, `\`); i >= 0 {
		u = u[i+1:]
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if a, found := x.accounts[u]; found {
		return a.name, a.password, true
	}
	if !strings.Contains(u, "@") {
		if a, found := x.accounts[u+"@"+strings.ToLower(x.opts.Domain)]; found {
			return a.name, a.password, true
		}
	}
	return "", "", false
}

func (x *Exchange) randomServer() int {
	x.rngMu.Lock()
	defer x.rngMu.Unlock()
	return x.rng.IntN(len(x.servers))
}

func (x *Exchange) serverIndex(fqdn string) (int, bool) {
	for i, s := range x.servers {
		if strings.EqualFold(s, fqdn) {
			return i, true
		}
	}
	return 0, false
}

// MailboxServer returns the FQDN of the server holding a mailbox.
func (x *Exchange) MailboxServer(smtp string) (string, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return x.servers[mb.server], nil
}

func (x *Exchange) now() time.Time { return x.clock.Now().UTC().Truncate(time.Second) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Close stops push deliveries, streams and moves still in their phase,
// and waits for their goroutines.
func (x *Exchange) Close() {
	x.hosting.close()
	x.subs.mu.Lock()
	for _, s := range x.subs.byID {
		if s.push != nil {
			s.push.stop()
		}
	}
	x.subs.mu.Unlock()
	for _, c := range x.streams() {
		c.closeSoon()
	}
	x.pushWG.Wait()
}

var _ ewsserver.Backend = (*Exchange)(nil)
var _ ewsserver.BackendNotifications = (*Exchange)(nil)
var _ ewsserver.BackendAvailability = (*Exchange)(nil)
var _ ewsserver.BackendAutodiscover = (*Exchange)(nil)
var _ ewsserver.BackendFolders = (*Exchange)(nil)
