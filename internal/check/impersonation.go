package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/internal/setupscript"
)

// maxThrottleRetries is how often a throttled user is retried.
const maxThrottleRetries = 3

// userOutcome is the result of checking one user.
type userOutcome struct {
	user string
	err  error
}

// checkImpersonation reads every user's calendar folder while
// impersonating the user, a bounded number at a time.
func (r *runner) checkImpersonation(ctx context.Context) Result {
	users := r.opts.Users
	prog := newProgress(r.opts.Progress, r.opts.ProgressTTY, "impersonation", len(users))
	jobs := make(chan User)
	results := make(chan userOutcome)
	var wg sync.WaitGroup
	workers := min(r.opts.Concurrency, len(users))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				results <- userOutcome{user: u.SMTP, err: r.impersonate(ctx, u)}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, u := range users {
			select {
			case jobs <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	failures := newFailureSet()
	ok, checked := 0, 0
	okUsers := map[string]bool{}
	for out := range results {
		checked++
		prog.step()
		if out.err == nil {
			ok++
			okUsers[out.user] = true
			continue
		}
		r.classifyImpersonation(failures, out.user, out.err)
	}
	prog.done()
	for _, u := range users { // the first good user in configuration order
		if okUsers[u.SMTP] {
			r.good = u.SMTP
			break
		}
	}
	res := Result{Facts: map[string]string{"users_ok": strconv.Itoa(ok), "users_checked": strconv.Itoa(checked),
		"concurrency": strconv.Itoa(workers)}}
	res.Failures, res.Status = failures.list()
	// A scope that excludes everybody usually means no role assignment.
	if len(res.Failures) == 1 && res.Failures[0].Code == string(ews.ErrorImpersonateUserDenied) && ok == 0 {
		res.Failures[0].Fix = r.scopeFixes(res.Failures[0].Users, true)
	}
	if res.Status == StatusSkip {
		res.Status = StatusOK
	}
	if checked < len(users) {
		res.Status = worst(res.Status, StatusWarn)
		res.Details = append(res.Details, fmt.Sprintf("interrupted after %d of %d users", checked, len(users)))
	}
	res.Summary = fmt.Sprintf("%d of %d users ok (%d at a time)", ok, len(users), workers)
	return res
}

// impersonate reads u's calendar folder as u, retrying throttled calls.
func (r *runner) impersonate(ctx context.Context, u User) error {
	sid, err := r.connectingSID(u)
	if err != nil {
		return &identifierError{err: err}
	}
	call := ewsclient.Call{ActAs: sid}
	for attempt := 0; ; attempt++ {
		var res []ewsclient.FolderResult
		res, err = r.client.GetFolder(ctx, call, ewsclient.GetFolderRequest{Folders: []ews.FolderRef{ews.CalendarFolder()}})
		if err == nil && len(res) == 1 {
			err = res[0].Err
		}
		if err == nil || !r.noteThrottle(err) || attempt == maxThrottleRetries {
			return err
		}
		if werr := r.wait(ctx, err, attempt); werr != nil {
			return err
		}
	}
}

// wait sleeps for the server's back-off hint (or a short doubling delay),
// capped at Options.MaxRetryWait; it fails when the hint is longer.
func (r *runner) wait(ctx context.Context, cause error, attempt int) error {
	d, _ := ews.RetryAfter(cause)
	if d > r.opts.MaxRetryWait {
		return fmt.Errorf("check: back-off %s is longer than the check waits", d)
	}
	if d <= 0 {
		d = min(time.Duration(250<<attempt)*time.Millisecond, r.opts.MaxRetryWait)
	}
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// identifierError is a user without the identifier the configured id type
// needs.
type identifierError struct{ err error }

func (e *identifierError) Error() string { return "check: " + e.err.Error() }
func (e *identifierError) Unwrap() error { return e.err }

// classifyImpersonation files one user's failure under its cause.
func (r *runner) classifyImpersonation(fs *failureSet, user string, err error) {
	code, _ := ews.CodeOf(err)
	var idErr *identifierError
	var he *ews.HTTPError
	var ne *ews.NetworkError
	switch {
	case errors.As(err, &idErr):
		fs.add("missing identifier", StatusFail, fmt.Sprintf("exchange.impersonation.id_type is %s but the users source gives no %s for these users", r.opts.Exchange.Impersonation.IDType, r.opts.Exchange.Impersonation.IDType), user,
			func([]string) []string {
				return []string{"set exchange.impersonation.id_type: smtp, or read users from LDAP/CSV with the " + string(r.opts.Exchange.Impersonation.IDType) + " column"}
			})
	case code == ews.ErrorImpersonateUserDenied:
		fs.add(string(code), StatusFail, "the service account may not impersonate these users: they are outside its ApplicationImpersonation management scope", user,
			func(users []string) []string { return r.scopeFixes(users, false) })
	case code == ews.ErrorImpersonationDenied:
		fs.add(string(code), StatusFail, "the service account may not impersonate through this Client Access server (ms-Exch-EPI-Impersonation missing)", user,
			func([]string) []string {
				return []string{"New-ManagementRoleAssignment -Name 'calsync impersonation' -Role ApplicationImpersonation -User " + psAccount(r.opts.Exchange.Auth.Username) + " -CustomRecipientWriteScope " + setupscript.PSQuote(r.opts.ScopeName),
					"Get-ManagementRoleAssignment -Role ApplicationImpersonation -GetEffectiveUsers | Format-Table Name, EffectiveUserName, CustomRecipientWriteScope"}
			})
	case code == ews.ErrorImpersonationFailed:
		fs.add(string(code), StatusFail, "Exchange failed to impersonate (Active Directory lookup, trust or application pool identity problem)", user,
			func([]string) []string {
				return []string{"check the Application event log of the Exchange server and Test-ServiceHealth; restart the MSExchangeServicesAppPool if the error persists"}
			})
	case code == ews.ErrorNonExistentMailbox:
		fs.add(string(code), StatusFail, "no mailbox has this address (a typo, a contact, a secondary address, or the mailbox was removed)", user,
			func(users []string) []string {
				return []string{psUserList(users) + " | ForEach-Object { Get-Recipient -Identity $_ | Format-List Name, RecipientTypeDetails, PrimarySmtpAddress }",
					"use the primary SMTP address, or remove these users from the users source"}
			})
	case code == ews.ErrorInvalidSmtpAddress || code == ews.ErrorInvalidUserPrincipalName || code == ews.ErrorInvalidSid || code == ews.ErrorInvalidExchangeImpersonationHeaderData:
		fs.add(string(code), StatusFail, "Exchange rejected the identifier sent for these users", user,
			func([]string) []string {
				return []string{"check exchange.impersonation.id_type (" + string(r.opts.Exchange.Impersonation.IDType) + ") and the addresses in the users source; smtp is the safest choice"}
			})
	case code == ews.ErrorMailboxMoveInProgress || code == ews.ErrorMailboxStoreUnavailable || code == ews.ErrorConnectionFailed:
		fs.add(string(code), StatusWarn, "the mailbox is temporarily unavailable (move or database failover); calsync retries", user, nil)
	case code == ews.ErrorAccessDenied:
		fs.add(string(code), StatusFail, "access to the calendar was denied while impersonating the user", user,
			func(users []string) []string {
				return []string{psUserList(users) + " | ForEach-Object { Get-MailboxFolderPermission -Identity ($_ + ':\\Calendar') }"}
			})
	case code != "":
		if s, ok := throttleSignal(err); ok {
			fs.add(s, StatusWarn, "throttled by Exchange even after retries (see Throttling)", user, nil)
			return
		}
		fs.add(string(code), StatusFail, redactError(err), user, nil)
	case errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable:
		fs.add("HTTP 503", StatusWarn, "the server is overloaded (see Throttling)", user, nil)
	case errors.As(err, &he):
		fs.add("HTTP "+strconv.Itoa(he.StatusCode), StatusFail, redactError(err), user, nil)
	case errors.As(err, &ne):
		fs.add("network", StatusFail, "the connection failed: "+redactError(ne.Err), user, nil)
	default:
		fs.add("error", StatusFail, redactError(err), user, nil)
	}
}
