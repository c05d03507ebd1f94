package ewsmem

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// budgetKey is the throttling budget a request is charged to: under
// impersonation the copy Exchange keeps for the impersonated user, else the
// authenticated account's own budget.
func budgetKey(c *ewsserver.Caller) string {
	if !c.Impersonation.IsZero() {
		return strings.ToLower(c.Account) + "/" + c.Mailbox()
	}
	return strings.ToLower(c.Account)
}

// SIDOf returns the simulated SID of a mailbox's user (for ConnectingSID/SID).
func (x *Exchange) SIDOf(smtp string) (string, bool) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("S-1-5-21-1004336348-1177238915-682003330-%d", 1100+mb.index), true
}

// resolvePrincipal maps a ConnectingSID to a mailbox address.
func (x *Exchange) resolvePrincipal(sid ews.ConnectingSID) (string, error) {
	v := strings.ToLower(strings.TrimSpace(sid.Value))
	switch sid.Kind {
	case ews.SIDPrimarySmtpAddress, ews.SIDSmtpAddress, ews.SIDPrincipalName:
		if v == "" {
			return "", ewsserver.Fault(ews.ErrorInvalidExchangeImpersonationHeaderData, "The impersonation header is empty.")
		}
		if !strings.Contains(v, "@") {
			code := ews.ErrorInvalidSmtpAddress
			if sid.Kind == ews.SIDPrincipalName {
				code = ews.ErrorInvalidUserPrincipalName
			}
			return "", ewsserver.Fault(code, "The address is not valid.")
		}
		return v, nil
	case ews.SIDSecurityID:
		const prefix = "s-1-5-21-1004336348-1177238915-682003330-"
		if !strings.HasPrefix(v, prefix) {
			if strings.HasPrefix(v, "s-") {
				return "", ewsserver.Fault(ews.ErrorNonExistentMailbox, "No mailbox with such guid.")
			}
			return "", ewsserver.Fault(ews.ErrorInvalidSid, "The SID is not valid.")
		}
		n, err := strconv.Atoi(strings.TrimPrefix(v, prefix))
		if err != nil {
			return "", ewsserver.Fault(ews.ErrorInvalidSid, "The SID is not valid.")
		}
		x.mu.RLock()
		defer x.mu.RUnlock()
		if n-1100 < 0 || n-1100 >= len(x.order) {
			return "", ewsserver.Fault(ews.ErrorNonExistentMailbox, "No mailbox with such guid.")
		}
		return x.order[n-1100], nil
	}
	return "", ewsserver.Fault(ews.ErrorInvalidExchangeImpersonationHeaderData, "The impersonation header is not valid.")
}

// Admit implements ewsserver.Backend: impersonation rights, throttling
// budgets, statistics.
func (x *Exchange) Admit(ctx context.Context, c *ewsserver.Caller) (func(), error) {
	x.stats.request(c.Operation)
	if !c.Impersonation.IsZero() {
		target, err := x.resolvePrincipal(c.Impersonation)
		if err != nil {
			return nil, err
		}
		if _, ok := x.mailbox(target); !ok {
			return nil, ewsserver.Fault(ews.ErrorNonExistentMailbox, "The SMTP address has no mailbox associated with it.")
		}
		x.mu.RLock()
		acct := x.accounts[strings.ToLower(c.Account)]
		allowed := acct != nil && acct.impersonation && (acct.scope == nil || acct.scope[target])
		x.mu.RUnlock()
		if !allowed {
			return nil, ewsserver.Fault(ews.ErrorImpersonateUserDenied, "The account does not have permission to impersonate the requested user.")
		}
		c.Impersonation.Value = target
		if !strings.EqualFold(strings.TrimSpace(c.AnchorMailbox), target) {
			// The front end routes by the service account and the back end
			// proxies: slower, and now and then failing, as Exchange does
			// without X-AnchorMailbox.
			if p := x.opts.MissingAnchorFailPercent; p > 0 && (x.anchorMisses.Add(1)*int64(p))%100 < int64(p) {
				return nil, ewsserver.Fault(ews.ErrorNoRespondingCASInDestinationSite, "The request could not be proxied to the mailbox's site.")
			}
			if x.opts.MissingAnchorLatency > 0 {
				if err := sleepCtx(ctx, x, x.opts.MissingAnchorLatency); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := x.hostedOnPremises(c.Mailbox()); err != nil {
		return nil, err
	}
	c.BackEndServer = x.backEndOf(c)
	release, terr := x.throttle.admit(budgetKey(c), strings.ToLower(c.Account), isSyncOperation(c.Operation))
	if terr != nil {
		x.stats.throttled(c.Operation)
		return nil, terr.asError()
	}
	return release, nil
}

// backEndOf names the mailbox server a request is routed to (X-BEServer)
// when the route is decided by the request: the affinity cookie or the
// anchor mailbox. A request routed at random names none (the operation
// draws its server later).
func (x *Exchange) backEndOf(c *ewsserver.Caller) string {
	if c.PreferServerAffinity && c.BackEndOverrideCookie != "" {
		fqdn, _, _ := strings.Cut(c.BackEndOverrideCookie, "~")
		if i, ok := x.serverIndex(fqdn); ok {
			return x.servers[i]
		}
	}
	if c.AnchorMailbox != "" {
		if mb, ok := x.mailbox(c.AnchorMailbox); ok {
			mb.mu.Lock()
			defer mb.mu.Unlock()
			return x.servers[mb.server]
		}
	}
	return ""
}

func (t *throttleError) asError() error {
	switch {
	case t.http503:
		return &ews.HTTPError{StatusCode: 503, Status: "503 Service Unavailable"}
	case t.code == "ErrorServerBusy" && t.policy == policyConcurrentSyncCalls:
		// Exchange Online answers a response message (HTTP 200) with the
		// policy part in the text and the back-off in MessageXml
		// (mustang-im/mustang#121).
		return ewsserver.Fail(ews.ErrorServerBusy,
			fmt.Sprintf("The server cannot service this request right now. Try again later. This operation exceeds the throttling budget for policy part '%s', policy value '%d',  Budget type: 'Ews'.  Suggested backoff time %d ms.",
				t.policy, t.limit, t.backOff.Milliseconds()),
			ews.ValueBackOffMilliseconds, strconv.FormatInt(t.backOff.Milliseconds(), 10))
	case t.code == "ErrorServerBusy":
		return ewsserver.ServerBusy(t.backOff, true)
	default:
		return ewsserver.Fail(ews.ErrorExceededConnectionCount,
			"You have exceeded the available concurrent connections for your account.  Try again once your other requests have completed.",
			"Policy", t.policy, "MaxConcurrencyLimit", strconv.Itoa(t.limit),
			"ErrorMessage", fmt.Sprintf("This operation exceeds the throttling budget for policy part '%s', policy value '%d'. Suggested backoff time 0 ms.", t.policy, t.limit))
	}
}

// count records a throttling signal raised outside admit.
func (t *throttler) count(signal string) {
	t.mu.Lock()
	t.throttled[signal]++
	t.mu.Unlock()
}

// accessMailbox returns target's mailbox if the effective user may open it.
func (x *Exchange) accessMailbox(c *ewsserver.Caller, target string) (*mailbox, error) {
	target = strings.ToLower(strings.TrimSpace(target))
	if target == "" {
		target = c.Mailbox()
	}
	mb, ok := x.mailbox(target)
	if !ok {
		return nil, ewsserver.Fail(ews.ErrorNonExistentMailbox, "The SMTP address has no mailbox associated with it.")
	}
	if target == c.Mailbox() {
		return mb, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if a := x.accounts[c.Mailbox()]; a != nil && (a.fullAccess[target] || a.fullAccess["*"]) {
		return mb, nil
	}
	return nil, ewsserver.Fail(ews.ErrorAccessDenied, "Access is denied. Check credentials and try again.")
}

// folderMailbox resolves the mailbox a folder reference points to and
// accepts only its calendar folder.
func (x *Exchange) folderMailbox(c *ewsserver.Caller, f ews.FolderRef) (*mailbox, error) {
	mb, err := x.anyFolderMailbox(c, f)
	if err != nil {
		return nil, err
	}
	return mb, x.checkCalendarFolder(mb, f)
}

// anyFolderMailbox resolves the mailbox a folder reference points to,
// whichever folder it names.
func (x *Exchange) anyFolderMailbox(c *ewsserver.Caller, f ews.FolderRef) (*mailbox, error) {
	if err := f.Validate(); err != nil {
		return nil, ewsserver.Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
	}
	target := c.Mailbox()
	if f.Distinguished != nil && f.Distinguished.Mailbox != "" {
		target = f.Distinguished.Mailbox
	}
	if f.Folder != nil {
		d, ok := decodeID(f.Folder.Id)
		if !ok || d.kind != "F" {
			return nil, ewsserver.Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
		}
		x.mu.RLock()
		if d.mailbox >= len(x.order) {
			x.mu.RUnlock()
			return nil, ewsserver.Fail(ews.ErrorFolderNotFound, "The specified folder could not be found in the store.")
		}
		target = x.order[d.mailbox]
		x.mu.RUnlock()
	}
	return x.accessMailbox(c, target)
}

// checkCalendarFolder accepts only the calendar folder of mb.
func (x *Exchange) checkCalendarFolder(mb *mailbox, f ews.FolderRef) error {
	if f.Distinguished != nil {
		if f.Distinguished.Id != ews.FolderCalendar {
			return ewsserver.Failf(ews.ErrorCalendarFolderIsInvalidForCalendarView, "The simulator keeps only calendar folders (asked for %s).", f.Distinguished.Id)
		}
		return nil
	}
	if name, ok := itemlessFolder(mb, f); ok {
		return ewsserver.Failf(ews.ErrorCalendarFolderIsInvalidForCalendarView, "The simulator keeps only calendar folders (asked for %s).", name)
	}
	if f.Folder == nil || f.Folder.Id != mb.folderID() {
		return ewsserver.Fail(ews.ErrorFolderNotFound, "The specified folder could not be found in the store.")
	}
	return nil
}

// affinityGiven reports whether the request carries routing information.
func (x *Exchange) affinityGiven(c *ewsserver.Caller) bool {
	return c.AnchorMailbox != "" || (c.PreferServerAffinity && c.BackEndOverrideCookie != "")
}

// route picks the mailbox server a request reaches: the affinity cookie
// (only with X-PreferServerAffinity: true), else the anchor mailbox's
// server, else a random back end.
func (x *Exchange) route(c *ewsserver.Caller) int {
	if c.PreferServerAffinity && c.BackEndOverrideCookie != "" {
		fqdn, _, _ := strings.Cut(c.BackEndOverrideCookie, "~")
		if i, ok := x.serverIndex(fqdn); ok {
			return i
		}
	}
	if c.AnchorMailbox != "" {
		if mb, ok := x.mailbox(c.AnchorMailbox); ok {
			mb.mu.Lock()
			defer mb.mu.Unlock()
			return mb.server
		}
	}
	return x.randomServer()
}

func sleepCtx(ctx context.Context, x *Exchange, d time.Duration) error {
	t := x.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
