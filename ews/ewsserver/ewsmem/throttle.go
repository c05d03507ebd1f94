package ewsmem

import (
	"math"
	"sync"
	"time"

	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/internal/clock"
)

// Unlimited marks a throttling limit as switched off, like the value
// "Unlimited" (or $null) in an Exchange throttling policy.
const Unlimited = -1

// Policy is an Exchange throttling policy as far as EWS is concerned. Every
// integer limit accepts Unlimited. The zero Policy is not useful; start from
// DefaultPolicy or UnlimitedPolicy.
type Policy struct {
	// Name is shown in stats and logs.
	Name string
	// MaxConcurrency is EWSMaxConcurrency: requests in flight per budget
	// (27 on Exchange 2013/2016/2019).
	MaxConcurrency int
	// MaxSubscriptions is EWSMaxSubscriptions, charged to the target mailbox
	// (5000 on premises, 20 in Exchange Online).
	MaxSubscriptions int
	// MaxBurst is EwsMaxBurst: how far a budget may be drawn down before
	// requests are slowed (unofficial default 300000 ms). Unlimited with a
	// negative value.
	MaxBurst time.Duration
	// RechargeRate is EwsRechargeRate per hour (unofficial default 900000 ms).
	RechargeRate time.Duration
	// CutoffBalance is EwsCutoffBalance: past -CutoffBalance requests fail
	// with ErrorServerBusy until the budget recharges (unofficial default
	// 3000000 ms). Negative means Unlimited.
	CutoffBalance time.Duration
	// HangingConnectionLimit is the number of open GetStreamingEvents
	// connections per budget (10 observed on 2016/2019).
	HangingConnectionLimit int
	// FindCountLimit is EWSFindCountLimit (1000).
	FindCountLimit int
	// CostPerRequest is the budget time the simulator charges per request
	// (an in-memory request costs almost nothing, real Exchange charges its
	// processing time). Default 10 ms.
	CostPerRequest time.Duration
	// GlobalQueueLimit is the number of requests the whole server processes
	// at once before answering HTTP 503 (IIS queue overflow); Unlimited or 0
	// switches it off.
	GlobalQueueLimit int
	// ConcurrentSyncCalls is the number of SyncFolderItems and
	// SyncFolderHierarchy calls in flight per budget (a policy parameter of
	// Exchange 2016/2019 and Exchange Online for which Microsoft publishes
	// no default). A further sync call answers ErrorServerBusy with
	// SyncCallsBackOff. Default 5, the value Exchange Online reported in
	// its error text (unofficial: mustang-im/mustang#121); Unlimited or 0
	// switches it off.
	ConcurrentSyncCalls int
	// SyncCallsBackOff is the BackOffMilliseconds sent when
	// ConcurrentSyncCalls is exceeded (5000 ms observed, unofficial).
	SyncCallsBackOff time.Duration
	// AccountConcurrency charges an impersonated request to the service
	// account's own budget too, which MaxConcurrency then caps across all
	// the mailboxes it impersonates, as Exchange does since 2010 SP2 RU4
	// (the service account has its own EWSMaxConcurrency budget beside the
	// impersonated user's). Off by default so far: tests drive the model
	// at higher parallelism than Exchange allows; `calsync bench` turns it
	// on.
	AccountConcurrency bool
}

// DefaultPolicy returns Exchange 2016/2019's default EWS throttling values.
func DefaultPolicy() Policy {
	return Policy{
		Name:                   "GlobalThrottlingPolicy",
		MaxConcurrency:         27,
		MaxSubscriptions:       5000,
		MaxBurst:               300000 * time.Millisecond,
		RechargeRate:           900000 * time.Millisecond,
		CutoffBalance:          3000000 * time.Millisecond,
		HangingConnectionLimit: 10,
		FindCountLimit:         1000,
		CostPerRequest:         10 * time.Millisecond,
		GlobalQueueLimit:       Unlimited,
		ConcurrentSyncCalls:    5,
		SyncCallsBackOff:       5 * time.Second,
	}
}

// ExchangeOnlinePolicy returns the defaults of Exchange Online, which
// differ in EWSMaxSubscriptions (20 per mailbox).
func ExchangeOnlinePolicy() Policy {
	p := DefaultPolicy()
	p.Name = "ExchangeOnlineThrottlingPolicy"
	p.MaxSubscriptions = 20
	return p
}

// UnlimitedPolicy returns the equivalent of the vendor guide's
// "NoThrottlingPolicy": every EWS limit Unlimited. As in Exchange, an
// unlimited EWSMaxConcurrency also lifts the hanging-connection limit.
func UnlimitedPolicy() Policy {
	return Policy{
		Name:                   "NoThrottlingPolicy",
		MaxConcurrency:         Unlimited,
		MaxSubscriptions:       Unlimited,
		MaxBurst:               -1,
		RechargeRate:           -1,
		CutoffBalance:          -1,
		HangingConnectionLimit: Unlimited,
		FindCountLimit:         1000,
		CostPerRequest:         10 * time.Millisecond,
		GlobalQueueLimit:       Unlimited,
		ConcurrentSyncCalls:    Unlimited,
		SyncCallsBackOff:       5 * time.Second,
	}
}

func limited(n int) bool { return n > 0 }

// budget is one throttling budget (an account, or the copy Exchange keeps
// per impersonated user).
type budget struct {
	balance   float64 // milliseconds
	updated   time.Time
	inFlight  int
	syncCalls int // SyncFolderItems/SyncFolderHierarchy in flight
	streaming int
}

// throttler applies a Policy to budgets keyed by account.
type throttler struct {
	clock clock.Clock

	mu        sync.Mutex
	policy    Policy
	budgets   map[string]*budget
	global    int
	throttled map[string]int64 // by signal
}

func newThrottler(c clock.Clock, p Policy) *throttler {
	return &throttler{clock: c, policy: p, budgets: map[string]*budget{}, throttled: map[string]int64{}}
}

func (t *throttler) budgetLocked(key string) *budget {
	b := t.budgets[key]
	now := t.clock.Now()
	if b == nil {
		b = &budget{balance: float64(t.policy.MaxBurst.Milliseconds()), updated: now}
		t.budgets[key] = b
		return b
	}
	if t.policy.RechargeRate > 0 {
		elapsed := now.Sub(b.updated)
		b.balance += float64(t.policy.RechargeRate.Milliseconds()) * elapsed.Hours()
		if maxB := float64(t.policy.MaxBurst.Milliseconds()); t.policy.MaxBurst >= 0 && b.balance > maxB {
			b.balance = maxB
		}
	}
	b.updated = now
	return b
}

// throttleError describes why a request was refused.
type throttleError struct {
	code     string // ResponseCode
	backOff  time.Duration
	policy   string // MaxConcurrency / MaxStreamingConcurrency / ConcurrentSyncCalls
	limit    int
	http503  bool
	inflight bool
}

// policyConcurrentSyncCalls names the policy part of the sync-call limit.
const policyConcurrentSyncCalls = "ConcurrentSyncCalls"

// isSyncOperation reports whether an EWS operation counts against
// ConcurrentSyncCalls.
func isSyncOperation(op string) bool {
	return op == "SyncFolderItems" || op == "SyncFolderHierarchy"
}

// admit charges one request to the budget key; syncCall marks a
// SyncFolderItems/SyncFolderHierarchy call, which also counts against
// ConcurrentSyncCalls. It returns a release function, or the throttling
// signal.
func (t *throttler) admit(key, account string, syncCall bool) (release func(), terr *throttleError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.policy
	if limited(p.GlobalQueueLimit) && t.global >= p.GlobalQueueLimit {
		t.throttled["HTTP503"]++
		return nil, &throttleError{http503: true}
	}
	b := t.budgetLocked(key)
	acct := b // the service account's own budget (AccountConcurrency)
	if p.AccountConcurrency && account != key {
		acct = t.budgetLocked(account)
	}
	if limited(p.MaxConcurrency) && (b.inFlight >= p.MaxConcurrency || acct.inFlight >= p.MaxConcurrency) {
		t.throttled["ErrorExceededConnectionCount"]++
		return nil, &throttleError{code: "ErrorExceededConnectionCount", policy: "MaxConcurrency", limit: p.MaxConcurrency}
	}
	if syncCall && limited(p.ConcurrentSyncCalls) && b.syncCalls >= p.ConcurrentSyncCalls {
		t.throttled["ErrorServerBusy"]++
		return nil, &throttleError{code: "ErrorServerBusy", backOff: p.SyncCallsBackOff, policy: policyConcurrentSyncCalls, limit: p.ConcurrentSyncCalls}
	}
	if p.CutoffBalance >= 0 && p.MaxBurst >= 0 && b.balance < -float64(p.CutoffBalance.Milliseconds()) {
		t.throttled["ErrorServerBusy"]++
		return nil, &throttleError{code: "ErrorServerBusy", backOff: t.backOffLocked(b)}
	}
	if p.MaxBurst >= 0 {
		b.balance -= float64(p.CostPerRequest.Milliseconds())
	}
	b.inFlight++
	if acct != b {
		acct.inFlight++
	}
	if syncCall {
		b.syncCalls++
	}
	t.global++
	return func() {
		t.mu.Lock()
		b.inFlight--
		if acct != b {
			acct.inFlight--
		}
		if syncCall {
			b.syncCalls--
		}
		t.global--
		t.mu.Unlock()
	}, nil
}

// backOffLocked is the time until the budget is back at zero.
func (t *throttler) backOffLocked(b *budget) time.Duration {
	rate := float64(t.policy.RechargeRate.Milliseconds()) // ms per hour
	if rate <= 0 {
		return time.Hour
	}
	hours := -b.balance / rate
	return time.Duration(math.Ceil(hours*float64(time.Hour/time.Millisecond))) * time.Millisecond
}

// openStreaming counts one hanging GetStreamingEvents connection against key.
func (t *throttler) openStreaming(key string) (release func(), terr *throttleError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.policy
	b := t.budgetLocked(key)
	if limited(p.MaxConcurrency) && limited(p.HangingConnectionLimit) && b.streaming >= p.HangingConnectionLimit {
		t.throttled["ErrorExceededConnectionCount"]++
		return nil, &throttleError{code: "ErrorExceededConnectionCount", policy: "MaxStreamingConcurrency", limit: p.HangingConnectionLimit}
	}
	b.streaming++
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			b.streaming--
			t.mu.Unlock()
		})
	}, nil
}

func (t *throttler) setPolicy(p Policy) {
	t.mu.Lock()
	t.policy = p
	t.mu.Unlock()
}

func (t *throttler) currentPolicy() Policy {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.policy
}

func (t *throttler) stats() (throttled map[string]int64, streaming int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	throttled = make(map[string]int64, len(t.throttled))
	for k, v := range t.throttled {
		throttled[k] = v
	}
	for _, b := range t.budgets {
		streaming += b.streaming
	}
	return throttled, streaming
}

// charge bills one more unit of work (a batch item) to key; past the cutoff
// it answers ErrorServerBusy with the back-off.
func (t *throttler) charge(key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.policy
	if p.MaxBurst < 0 {
		return nil
	}
	b := t.budgetLocked(key)
	if p.CutoffBalance >= 0 && b.balance < -float64(p.CutoffBalance.Milliseconds()) {
		t.throttled["ErrorServerBusy"]++
		return ewsserver.ServerBusy(t.backOffLocked(b), false)
	}
	b.balance -= float64(p.CostPerRequest.Milliseconds())
	return nil
}
