package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// cleanupTimeout bounds Unsubscribe after a round trip.
const cleanupTimeout = 10 * time.Second

// goodCall is the call acting as the first user that passed impersonation.
func (r *runner) goodCall() (ewsclient.Call, bool) {
	for _, u := range r.opts.Users {
		if u.SMTP == r.good {
			sid, err := r.connectingSID(u)
			if err != nil {
				return ewsclient.Call{}, false
			}
			return ewsclient.Call{ActAs: sid, Affinity: ewsclient.NewAffinity("")}, true
		}
	}
	return ewsclient.Call{}, false
}

// unsubscribe ends a subscription of the check, even after cancellation.
func (r *runner) unsubscribe(ctx context.Context, call ewsclient.Call, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	return r.client.Unsubscribe(ctx, call, id)
}

// checkStreaming subscribes one user, opens GetStreamingEvents, waits for
// the first ConnectionStatus OK heartbeat, and unsubscribes.
func (r *runner) checkStreaming(ctx context.Context) Result {
	call, ok := r.goodCall()
	if !ok {
		return Result{Status: StatusSkip, Summary: "skipped: no user passed the impersonation check"}
	}
	sub, err := r.client.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming})
	if err != nil {
		return r.streamingFailure("Subscribe", err)
	}
	var details []string
	defer func() {
		if err := r.unsubscribe(ctx, call, sub.Id); err != nil {
			r.log.Debug("check: streaming unsubscribe failed", "err", err)
		}
	}()
	sctx, cancel := context.WithTimeout(ctx, r.opts.StreamWait)
	defer cancel()
	start := r.clock.Now()
	stream, err := r.client.GetStreamingEvents(sctx, call, ewsclient.StreamRequest{SubscriptionIds: []string{sub.Id},
		ConnectionTimeoutMinutes: 1, IdleTimeout: r.opts.StreamWait})
	if err != nil {
		if sctx.Err() != nil && ctx.Err() == nil {
			err = errNoHeartbeat // not even the response headers arrived
		}
		return r.streamingFailure("GetStreamingEvents", err)
	}
	defer stream.Close()
	for {
		batch, err := stream.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errStreamEnded
			}
			if sctx.Err() != nil && ctx.Err() == nil {
				err = errNoHeartbeat
			}
			return r.streamingFailure("GetStreamingEvents", err)
		}
		if len(batch.Failed) > 0 {
			return r.streamingFailure("GetStreamingEvents", batch.Failed[0].Err)
		}
		if len(batch.Notifications) > 0 {
			details = append(details, fmt.Sprintf("%d notification(s) arrived", len(batch.Notifications)))
		}
		switch batch.Status {
		case ews.ConnectionOK:
			took := r.clock.Now().Sub(start).Round(time.Millisecond)
			return Result{Status: StatusOK, Summary: fmt.Sprintf("subscribed %s, stream open, heartbeat after %s, unsubscribed", r.good, took),
				Details: details, Facts: map[string]string{"user": r.good, "first_heartbeat_ms": strconv.FormatInt(took.Milliseconds(), 10)}}
		case ews.ConnectionClosed:
			return r.streamingFailure("GetStreamingEvents", errStreamEnded)
		}
	}
}

// Stream endings the streaming check explains.
var (
	errStreamEnded = errors.New("check: the stream ended before the first ConnectionStatus OK")
	errNoHeartbeat = errors.New("check: no ConnectionStatus OK heartbeat arrived in time")
)

// streamingFailure explains a failed streaming round trip. It is a failure
// when calsync is configured for streaming, else a warning.
func (r *runner) streamingFailure(op string, err error) Result {
	st := StatusFail
	if !r.streaming() {
		st = StatusWarn
	}
	r.noteThrottle(err)
	pull := "or use pull notifications (changes arrive later, but no long-lived connection is needed): exchange.notifications.mode: pull"
	lb := "on the load balancer or reverse proxy in front of Exchange: allow requests to /EWS/Exchange.asmx to stay open for at least the streaming ConnectionTimeout (exchange.notifications.connection_timeout, default 30m), and disable response buffering for them"
	res := Result{Status: st, Details: []string{op + ": " + redactError(err)}, Facts: map[string]string{"user": r.good, "operation": op}}
	var he *ews.HTTPError
	var ne *ews.NetworkError
	switch {
	case ews.IsCode(err, ews.ErrorExceededConnectionCount):
		res.Summary = "too many open streaming connections (ErrorExceededConnectionCount, HangingConnectionLimit)"
		res.Fix = []string{"stop other streaming clients that use the service account, or let calsync put up to 200 users on each connection (exchange.notifications.group_size: 200)",
			"Exchange 2016/2019 allow 10 open GetStreamingEvents connections per account; raise HangingConnectionLimit in the EWS web.config (%ExchangeInstallPath%ClientAccess\\exchweb\\ews\\web.config) only if needed",
			pull}
	case ews.IsCode(err, ews.ErrorExceededSubscriptionCount):
		res.Summary = "the user has too many subscriptions (ErrorExceededSubscriptionCount, EWSMaxSubscriptions)"
		res.Fix = append([]string{"find the applications holding subscriptions for " + r.good + "; the optional throttling policy raises EwsMaxSubscriptions:"}, r.throttlingPolicyFix()...)
	case ews.IsCode(err, ews.ErrorSubscriptionNotFound, ews.ErrorProxyRequestNotAllowed, ews.ErrorProxiedSubscriptionCallFailure):
		res.Summary = "the streaming request reached another mailbox server than the subscription (affinity lost)"
		res.Fix = []string{"the load balancer must pass the X-AnchorMailbox and X-PreferServerAffinity headers and the X-BackEndOverrideCookie cookie unchanged (layer-7 rules must not strip them)", pull}
	case errors.As(err, &he):
		res.Summary = fmt.Sprintf("HTTP %d on %s: a proxy or load balancer refused the long-lived request", he.StatusCode, op)
		if he.StatusCode == http.StatusUnauthorized {
			res.Summary = "HTTP 401 on " + op + ": the long-lived request was not authenticated (a proxy dropping NTLM connection state?)"
		}
		res.Fix = []string{lb, pull}
	case errors.Is(err, errNoHeartbeat) || errors.As(err, &ne) && errors.Is(ne.Err, ewsclient.ErrStreamIdle):
		res.Summary = fmt.Sprintf("the stream opened but no heartbeat arrived within %s: a proxy buffers the chunked response", r.opts.StreamWait)
		res.Fix = []string{lb, pull}
	case errors.Is(err, errStreamEnded) || errors.As(err, &ne):
		res.Summary = "the streaming connection was closed before the first heartbeat: a proxy or load balancer cuts long requests"
		res.Fix = []string{lb, pull}
	default:
		code, _ := ews.CodeOf(err)
		res.Summary = fmt.Sprintf("%s failed: %s", op, code)
		if code == "" {
			res.Summary = op + " failed"
		}
		res.Fix = []string{pull}
	}
	if !r.streaming() {
		res.Details = append(res.Details, "calsync is configured for pull notifications, so this does not stop it")
	}
	return res
}

// checkPull subscribes one user for pull notifications, polls once with
// GetEvents and unsubscribes.
func (r *runner) checkPull(ctx context.Context) Result {
	call, ok := r.goodCall()
	if !ok {
		return Result{Status: StatusSkip, Summary: "skipped: no user passed the impersonation check"}
	}
	sub, err := r.client.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionPull, TimeoutMinutes: 5})
	if err != nil {
		return r.pullFailure("Subscribe", err)
	}
	n, err := r.client.GetEvents(ctx, call, sub.Id, sub.Watermark)
	if err != nil {
		_ = r.unsubscribe(ctx, call, sub.Id)
		return r.pullFailure("GetEvents", err)
	}
	if err := r.unsubscribe(ctx, call, sub.Id); err != nil {
		return r.pullFailure("Unsubscribe", err)
	}
	return Result{Status: StatusOK, Summary: fmt.Sprintf("subscribed %s, GetEvents returned %d event(s), unsubscribed", r.good, len(n.Events)),
		Facts: map[string]string{"user": r.good}}
}

// pullFailure explains a failed pull round trip.
func (r *runner) pullFailure(op string, err error) Result {
	r.noteThrottle(err)
	code, _ := ews.CodeOf(err)
	res := Result{Status: StatusFail, Summary: op + " failed", Details: []string{op + ": " + redactError(err)}, Facts: map[string]string{"user": r.good, "operation": op}}
	if code != "" {
		res.Summary = fmt.Sprintf("%s failed: %s", op, code)
	}
	switch {
	case ews.IsCode(err, ews.ErrorExceededSubscriptionCount):
		res.Fix = append([]string{"find the applications holding subscriptions for " + r.good + "; the optional throttling policy raises EwsMaxSubscriptions:"}, r.throttlingPolicyFix()...)
	case ews.IsCode(err, ews.ErrorSubscriptionNotFound, ews.ErrorInvalidWatermark):
		res.Fix = []string{"the GetEvents call reached another mailbox server: the load balancer must pass X-AnchorMailbox, X-PreferServerAffinity and the X-BackEndOverrideCookie cookie unchanged"}
	default:
		res.Fix = []string{"check the Exchange server's health (Test-ServiceHealth) and the EWS logs (%ExchangeInstallPath%Logging\\Ews)"}
	}
	return res
}

// checkThrottling sends a few quick calls at once, reports every
// throttling signal seen during the whole run, and prints the budget
// calsync will use.
func (r *runner) checkThrottling(ctx context.Context) Result {
	call, ok := r.goodCall()
	if ok {
		var wg sync.WaitGroup
		for range r.opts.ThrottleProbes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := r.client.GetFolder(ctx, ewsclient.Call{ActAs: call.ActAs},
					ewsclient.GetFolderRequest{Folders: []ews.FolderRef{ews.CalendarFolder()}})
				r.noteThrottle(err)
			}()
		}
		wg.Wait()
	}
	b := r.opts.Budget
	pace := fmt.Sprintf("%g requests/s", b.RequestsPerSecond)
	rate := strconv.FormatFloat(b.RequestsPerSecond, 'f', -1, 64)
	if b.RequestsPerSecond == 0 {
		pace, rate = "adaptive pace (concurrency follows Exchange's answers)", "adaptive"
	}
	res := Result{Status: StatusOK, Facts: map[string]string{
		"max_concurrency": strconv.Itoa(b.MaxConcurrency), "per_server": strconv.Itoa(b.PerServer), "per_user": strconv.Itoa(b.PerUser),
		"requests_per_second": rate, "max_back_off": b.MaxBackOff.String()}}
	res.Details = append(res.Details, fmt.Sprintf("calsync's budget: at most %d requests in flight (%d per server, %d per user), %s, back-off honoured up to %s; Exchange's default EWSMaxConcurrency is 27 per budget",
		b.MaxConcurrency, b.PerServer, b.PerUser, pace, b.MaxBackOff))
	r.mu.Lock()
	signals := make([]string, 0, len(r.throttled))
	total := 0
	for s, n := range r.throttled {
		signals = append(signals, s)
		total += n
	}
	backOff := r.backOff
	r.mu.Unlock()
	sort.Strings(signals)
	if total == 0 {
		res.Summary = fmt.Sprintf("no throttling signal (%d probe calls plus every call of this check)", r.opts.ThrottleProbes)
		res.Details = append(res.Details, "optional, not needed with the default policy: `calsync setup-script --throttling-policy` creates a moderate policy")
		return res
	}
	res.Status = StatusWarn
	res.Summary = fmt.Sprintf("Exchange throttled %d %s during the check", total, plural(total, "call", "calls"))
	if backOff > 0 {
		res.Facts["longest_back_off"] = backOff.String()
		res.Summary += fmt.Sprintf(" (longest back-off hint %s)", backOff)
	}
	for _, s := range signals {
		r.mu.Lock()
		n := r.throttled[s]
		r.mu.Unlock()
		res.Failures = append(res.Failures, Failure{Status: StatusWarn, Code: s, Count: n, Message: throttleMeaning(s)})
	}
	res.Fix = append([]string{"calsync honours the back-off; if this persists, lower budget.max_concurrency and budget.per_user, or give the service account a moderate policy:"}, r.throttlingPolicyFix()...)
	return res
}

// throttleMeaning explains a throttling signal.
func throttleMeaning(signal string) string {
	switch signal {
	case string(ews.ErrorServerBusy):
		return "the budget (EwsMaxBurst/EwsCutoffBalance) is exhausted or the server is overloaded; the answer carries BackOffMilliseconds"
	case string(ews.ErrorExceededConnectionCount):
		return "more concurrent requests than EWSMaxConcurrency (or streaming connections than HangingConnectionLimit)"
	case string(ews.ErrorExceededSubscriptionCount):
		return "more subscriptions for a mailbox than EWSMaxSubscriptions"
	case "HTTP 503":
		return "the front end's request queue is full"
	}
	return "throttling signal"
}
