package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/internal/graphconn"
)

// Graph check identifiers, run when exchange_online is configured (alone,
// or after the EWS checks in hybrid).
const (
	IDGraphToken     = "graph_token"
	IDGraphMailboxes = "graph_mailboxes"
)

// graphSteps are the Exchange Online checks.
func (r *runner) graphSteps() []step {
	return []step{
		{IDGraphToken, "Graph token", r.checkGraphToken},
		{IDGraphMailboxes, "Graph mailboxes", r.checkGraphMailboxes},
	}
}

// hybrid reports whether EWS is configured next to exchange_online.
func (r *runner) hybrid() bool {
	return r.opts.Exchange.EWSURL != "" || r.opts.Exchange.AutodiscoverURL != ""
}

// checkGraphToken builds the client `calsync run` builds
// (internal/graphconn) and obtains one app-only token.
func (r *runner) checkGraphToken(ctx context.Context) Result {
	x := r.opts.ExchangeOnline
	ts, c, err := graphconn.New(x, graphconn.Options{Clock: r.clock})
	if err != nil {
		return Result{Status: StatusFail, Summary: err.Error(),
			Fix: []string{"set exchange_online.certificate_file and key_file to the PEM certificate registered on the app and its RSA key, or a client secret"}}
	}
	r.graph = c
	tctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	if _, err := ts.Token(tctx); err != nil {
		res := Result{Status: StatusFail, Summary: "no token from " + x.LoginURL + ": " + err.Error()}
		switch graph.Classify(err) {
		case graph.ClassCredentials:
			res.Fix = []string{"Entra ID rejected the app's credentials: check exchange_online.client_id and the client secret (expired? copied the secret's value, not its id?) or that the certificate in certificate_file is uploaded to the app registration"}
		case graph.ClassConfiguration:
			res.Fix = []string{"check exchange_online.tenant_id (the tenant GUID or a verified domain) and that the app registration exists in that tenant; the AADSTS code above names the cause"}
		default:
			res.Fix = []string{"the token endpoint is not reachable: check the network path (proxy, firewall) to " + x.LoginURL}
		}
		return res
	}
	return Result{Status: StatusOK, Summary: fmt.Sprintf("app %s obtained a token for tenant %s", x.ClientID, x.TenantID),
		Facts: map[string]string{"tenant_id": x.TenantID, "client_id": x.ClientID, "graph_url": x.GraphURL}}
}

// checkGraphMailboxes reads every user's mailboxSettings (MailboxSettings.Read)
// and one hour of calendarView (Calendars.Read), and groups the failures.
func (r *runner) checkGraphMailboxes(ctx context.Context) Result {
	if r.graph == nil {
		return Result{Status: StatusSkip, Summary: "skipped: no Graph client"}
	}
	fs := newFailureSet()
	var mu sync.Mutex
	cloud, onPrem := 0, 0
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	now := r.clock.Now()
	for _, u := range r.opts.Users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			uctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
			defer cancel()
			_, err := r.graph.MailboxSettings(uctx, u.SMTP)
			if err == nil {
				_, err = r.graph.CalendarView(uctx, u.SMTP, now, now.Add(time.Hour), graphclient.ViewOptions{PageSize: 1})
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				cloud++
			case graph.Classify(err) == graph.ClassNotOnGraph:
				onPrem++
				r.graphFailure(fs, u.SMTP, err)
			default:
				r.graphFailure(fs, u.SMTP, err)
			}
		}()
	}
	wg.Wait()
	failures, st := fs.list()
	res := Result{Status: worst(StatusOK, st), Failures: failures,
		Facts: map[string]string{"cloud": fmt.Sprint(cloud), "not_on_graph": fmt.Sprint(onPrem)}}
	res.Summary = fmt.Sprintf("%d of %d %s readable over Graph", cloud, len(r.opts.Users), plural(len(r.opts.Users), "mailbox", "mailboxes"))
	if onPrem > 0 && r.hybrid() {
		res.Summary += fmt.Sprintf("; %d on-premises (served over EWS)", onPrem)
	}
	return res
}

// graphFailure records one user's failure with its fix.
func (r *runner) graphFailure(fs *failureSet, user string, err error) {
	code := "network"
	if c, ok := graph.CodeOf(err); ok {
		code = string(c)
	} else if s := graph.StatusOf(err); s != 0 {
		code = fmt.Sprintf("HTTP %d", s)
	}
	app := r.opts.ExchangeOnline.ClientID
	switch graph.Classify(err) {
	case graph.ClassNotOnGraph:
		st, msg := StatusFail, "Graph does not serve these mailboxes (on-premises, inactive or soft-deleted)"
		fix := func([]string) []string {
			return []string{"configure exchange (EWS) too, so that calsync serves on-premises mailboxes from Exchange Server (hybrid), or remove these users"}
		}
		if r.hybrid() {
			st, msg, fix = StatusOK, "on-premises: calsync serves these mailboxes over EWS", nil
		}
		fs.add(code, st, msg, user, fix)
	case graph.ClassPermission:
		fs.add(code, StatusFail, "the app may not read these mailboxes (outside its RBAC scope or access policy, or the application permissions lack admin consent); right after a change this is expected for 30 min to 2 h", user,
			func(users []string) []string {
				return []string{
					"Grant the application permissions Calendars.Read and MailboxSettings.Read with admin consent, or scope them in Exchange Online:",
					fmt.Sprintf("New-ManagementRoleAssignment -App %s -Role \"Application Calendars.Read\" -CustomResourceScope \"calsync users\"", app),
					fmt.Sprintf("New-ManagementRoleAssignment -App %s -Role \"Application MailboxSettings.Read\" -CustomResourceScope \"calsync users\"", app),
					fmt.Sprintf("Test-ServicePrincipalAuthorization -Identity %s -Resource %s   # InScope must be True", app, users[0]),
				}
			})
	case graph.ClassNotFound:
		fs.add(code, StatusFail, "unknown in the tenant", user, func([]string) []string {
			return []string{"check the user list: these addresses are no users of tenant " + r.opts.ExchangeOnline.TenantID}
		})
	case graph.ClassThrottled:
		fs.add(code, StatusWarn, "Graph throttled the check", user, nil)
	default:
		msg := err.Error()
		var ge *graph.Error
		if errors.As(err, &ge) && ge.Message != "" {
			msg = ge.Message
		}
		fs.add(code, StatusFail, strings.TrimSpace(msg), user, nil)
	}
}
