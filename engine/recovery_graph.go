package engine

// Graph's codes, as engine/graphexchange reports them (issue 13). They
// live in their own table so the EWS one stays as it is; both are one
// lookup for classify. Credential failures are reported as HTTP401 (the
// credential gate), overload of Graph itself as HTTP503.
var graphRecoveries = map[string]recovery{
	"MailboxNotEnabledForRESTAPI": {actDenied, "Microsoft Graph does not serve this mailbox (hosted on-premises, inactive or soft-deleted): serve it over EWS, or check the user list."},
	"SyncStateNotFound":           {actResubscribe, "Graph no longer knows the delta token (expired or evicted); calsync starts a new delta round and re-reads the calendar."},
	"ApplicationThrottled":        {actThrottled, "Graph throttled requests for this mailbox (HTTP 429); calsync pauses this mailbox for the Retry-After Graph asked for."},
	"GraphAccessDenied":           {actDenied, "Graph denied the app access to this mailbox: add the user to the app's management scope (RBAC for Applications) or access policy. Right after a change this is expected: scopes take 30 min to 2 h to reach Graph."},
	"GraphUserNotFound":           {actDenied, "Graph does not know this user in the tenant: check the user list or the user's address."},
	"GraphConfiguration":          {actAuth, "Entra ID refused the token request as configured (tenant, scope or app): check exchange_online.tenant_id, client_id and the app registration; `calsync check` shows Entra's AADSTS code."},
	"GraphSubscriptionRefused":    {actAuth, "Graph refused the change-notification subscription (HTTP 400), mostly because it could not validate the notification URL: Graph must reach exchange_online.notifications.public_url + /graph/notifications from the internet and get its validationToken back within 10 s. The message says what Graph refused; calsync retries slowly."},
	"GraphBadRequest":             {actAuth, "Graph refused the request as invalid (HTTP 400); the message says what it refused. calsync retries slowly."},
	"MailboxMoved":                {actRediscover, "The mailbox now lives on the other side (Exchange Server ↔ Exchange Online); calsync reads it there from scratch (item ids do not survive a move)."},
	"GraphInvalidResponse":        {actRetry, "Graph's answer could not be read (malformed, truncated or too large); calsync retries with exponential back-off."},
}

func init() {
	for code, r := range graphRecoveries {
		recoveries[code] = r
	}
}
