package engine

import (
	"context"
	"errors"
)

// action is what the engine does about an error.
type action int

const (
	// actRetry: transient trouble; retry with exponential back-off and jitter.
	actRetry action = iota
	// actResubscribe: the subscription is gone or events were missed;
	// subscribe again and re-read the window.
	actResubscribe
	// actRediscover: the mailbox moved (or its routing is stale); run
	// Autodiscover again, regroup, resubscribe and re-read.
	actRediscover
	// actThrottled: honour the back-off hint for the budget concerned.
	actThrottled
	// actLessParallel: too many concurrent connections; reduce parallelism.
	actLessParallel
	// actAuth: 401/403; report and retry slowly.
	actAuth
	// actDenied: impersonation refused for this mailbox; mark it denied and
	// retry slowly, other mailboxes keep running.
	actDenied
	// actResync: a sync state is invalid; drop it and read everything again.
	actResync
	// actStop: the context ended.
	actStop
)

// recovery describes how to react to one error code.
type recovery struct {
	act  action
	hint string
}

// recoveries maps EWS and calsync codes to the reaction and a hint for the
// administrator. docs/engine.md renders the same table.
var recoveries = map[string]recovery{
	"ErrorSubscriptionNotFound":           {actResubscribe, "The subscription expired or Exchange restarted; calsync resubscribes and re-reads the calendar."},
	"ErrorInvalidSubscription":            {actResubscribe, "The subscription is no longer valid; calsync resubscribes and re-reads the calendar."},
	"ErrorExpiredSubscription":            {actResubscribe, "The subscription expired; calsync resubscribes and re-reads the calendar."},
	"ErrorReadEventsFailed":               {actResubscribe, "Exchange could not read the event queue and deleted the subscription; calsync resubscribes and re-reads."},
	"ErrorInvalidWatermark":               {actResubscribe, "The pull watermark is no longer known to Exchange; calsync resubscribes and re-reads."},
	"ErrorMissedNotificationEvents":       {actResubscribe, "Exchange dropped events (queue overflow); calsync re-reads the calendar."},
	"ErrorInvalidPullSubscriptionId":      {actResubscribe, "The subscription id is not a pull subscription; calsync resubscribes."},
	"ErrorSubscriptionAccessDenied":       {actResubscribe, "The subscription belongs to another account; calsync resubscribes."},
	"ErrorProxyRequestNotAllowed":         {actRediscover, "A subscription lives on another mailbox server; calsync re-runs Autodiscover and regroups."},
	"ErrorProxiedSubscriptionCallFailure": {actRediscover, "Exchange could not proxy the subscription call; calsync re-runs Autodiscover and regroups."},
	"ErrorMailboxStoreUnavailable":        {actRediscover, "The mailbox database is unavailable (failover?); calsync retries and re-runs Autodiscover."},
	"ErrorInvalidSyncStateData":           {actResync, "The stored sync state is invalid; calsync reads the calendar from scratch."},
	"ErrorServerBusy":                     {actThrottled, "Exchange throttled the request; calsync pauses for the back-off time Exchange asked for. If this persists, lower budget.concurrency."},
	"HTTP503":                             {actThrottled, "Exchange front end is overloaded (HTTP 503); calsync pauses all traffic and retries."},
	"HTTP429":                             {actThrottled, "Too many requests (HTTP 429); calsync pauses and retries."},
	"ErrorExceededConnectionCount":        {actLessParallel, "Too many concurrent EWS connections for the service account; calsync reduces its parallelism."},
	"ErrorTooManyObjectsOpened":           {actLessParallel, "Exchange store session limit reached; calsync reduces its parallelism."},
	"TLSCertificate":                      {actAuth, "Exchange's TLS certificate is not trusted (unknown authority, wrong host name or expired): set exchange.tls.ca_file to the issuing CA, or use the host name the certificate names; `calsync check` shows the details."},
	"HTTP401":                             {actAuth, "Exchange rejected the service account's credentials: check user name, password or token."},
	"HTTP403":                             {actAuth, "Exchange refused access (HTTP 403): check that EWS is enabled for the service account."},
	"ErrorAccessDenied":                   {actAuth, "Access denied: check FullAccess/impersonation rights of the service account on this mailbox."},
	"ErrorImpersonateUserDenied":          {actDenied, "The service account may not impersonate this user: add the user to the ApplicationImpersonation management scope (see `calsync setup-script`)."},
	"ErrorImpersonationDenied":            {actDenied, "The service account lacks the ApplicationImpersonation role on this Client Access server (see `calsync setup-script`)."},
	"ErrorImpersonationFailed":            {actDenied, "Impersonation failed on the Exchange side (AD or trust problem); check the Exchange event log."},
	"ErrorNonExistentMailbox":             {actDenied, "The address does not resolve to a mailbox: check the user list or the user's primary SMTP address."},
	"ErrorInvalidSmtpAddress":             {actDenied, "The SMTP address is invalid: check the user list."},
	"ErrorExceededSubscriptionCount":      {actRetry, "The mailbox has too many subscriptions (EWSMaxSubscriptions is shared with the user's other clients); calsync retries later."},
	"NetworkError":                        {actRetry, "Exchange is unreachable; calsync retries with exponential back-off."},
	"Timeout":                             {actRetry, "The request timed out; calsync retries with exponential back-off."},
}

// classify returns the reaction to err.
func classify(err error) recovery {
	if err == nil {
		return recovery{act: actRetry}
	}
	if errors.Is(err, context.Canceled) {
		return recovery{act: actStop}
	}
	code := ErrorCode(err)
	if r, ok := recoveries[code]; ok {
		return r
	}
	return recovery{act: actRetry, hint: "Unexpected Exchange error; calsync retries with exponential back-off."}
}

// hintFor returns the administrator hint for err.
func hintFor(err error) string { return classify(err).hint }
