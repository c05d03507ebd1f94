package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/check"
	"github.com/calsync/calsync/internal/check/checktest"
	"github.com/calsync/calsync/internal/clock"
)

func run(t *testing.T, o check.Options) *check.Report {
	t.Helper()
	rep, err := check.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func result(t *testing.T, rep *check.Report, id string) check.Result {
	t.Helper()
	res, ok := rep.Result(id)
	if !ok {
		t.Fatalf("no result %q in the report", id)
	}
	return res
}

func text(t *testing.T, rep *check.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestAllGreen(t *testing.T) {
	env := checktest.New(t, 20, nil)
	o := env.Options("secret")
	var progress bytes.Buffer
	o.Progress = &progress
	rep := run(t, o)
	want := map[string]check.Status{
		check.IDConfig: check.StatusOK, check.IDConnectivity: check.StatusOK, check.IDTLS: check.StatusSkip,
		check.IDAuthentication: check.StatusOK, check.IDVersion: check.StatusOK, check.IDAutodiscover: check.StatusOK,
		check.IDImpersonation: check.StatusOK, check.IDStreaming: check.StatusOK, check.IDPull: check.StatusOK,
		check.IDAutomaticReplies: check.StatusOK, check.IDThrottling: check.StatusOK,
	}
	var ids []string
	for _, c := range rep.Checks {
		ids = append(ids, c.ID)
		if c.Status != want[c.ID] {
			t.Errorf("%s: status %s, want %s (%s)\n%s", c.ID, c.Status, want[c.ID], c.Summary, text(t, rep))
		}
	}
	wantOrder := []string{check.IDConfig, check.IDConnectivity, check.IDTLS, check.IDAuthentication, check.IDVersion,
		check.IDAutodiscover, check.IDImpersonation, check.IDStreaming, check.IDPull, check.IDAutomaticReplies, check.IDThrottling}
	if !slices.Equal(ids, wantOrder) {
		t.Errorf("checks ran in order %v, want %v", ids, wantOrder)
	}
	if rep.ExitCode(true) != 0 {
		t.Errorf("exit code (strict) = %d, want 0", rep.ExitCode(true))
	}
	imp := result(t, rep, check.IDImpersonation)
	if imp.Facts["users_ok"] != "20" || imp.Facts["concurrency"] != "8" {
		t.Errorf("impersonation facts = %v, want 20 users ok, 8 at a time", imp.Facts)
	}
	ver := result(t, rep, check.IDVersion)
	if !strings.HasPrefix(ver.Facts["server_version"], "15.1.") || ver.Facts["product"] != "Exchange Server 2016" {
		t.Errorf("version facts = %v", ver.Facts)
	}
	ad := result(t, rep, check.IDAutodiscover)
	if ad.Facts["users_found"] != "20" || ad.Facts["groups"] != "2" || ad.Facts["group_sizes"] != "10,10" || ad.Facts["streaming_connections"] != "2" {
		t.Errorf("autodiscover facts = %v, want 20 users in 2 groups of 10", ad.Facts)
	}
	if !strings.Contains(progress.String(), "20/20 users checked (100%)") {
		t.Errorf("progress output %q lacks the final line", progress.String())
	}
	out := text(t, rep)
	for _, s := range []string{"✓ Impersonation", "20 of 20 users ok", "✓ Streaming", "✓ Pull", "✓ Automatic replies", "10 ok, 0 warnings, 0 failed, 1 skipped"} {
		if !strings.Contains(out, s) {
			t.Errorf("text report lacks %q:\n%s", s, out)
		}
	}
}

func TestUsersOutOfImpersonationScope(t *testing.T) {
	env := checktest.New(t, 20, nil)
	inScope := env.Users[:15]
	outOfScope := append([]string(nil), env.Users[15:]...)
	if err := env.Sim.SetImpersonationScope(env.Sim.ServiceAccount(), inScope); err != nil {
		t.Fatal(err)
	}
	o := env.Options("secret")
	o.ScopeGroup = "Calendar Sync Users"
	rep := run(t, o)
	imp := result(t, rep, check.IDImpersonation)
	if imp.Status != check.StatusFail || len(imp.Failures) != 1 {
		t.Fatalf("impersonation = %s with %d failures, want one failure\n%s", imp.Status, len(imp.Failures), text(t, rep))
	}
	f := imp.Failures[0]
	slices.Sort(outOfScope)
	if f.Code != "ErrorImpersonateUserDenied" || !slices.Equal(f.Users, outOfScope) || f.Count != 5 {
		t.Errorf("failure %s for %v (count %d), want ErrorImpersonateUserDenied for %v", f.Code, f.Users, f.Count, outOfScope)
	}
	fix := strings.Join(f.Fix, "\n")
	for _, s := range []string{"Add-DistributionGroupMember -Identity 'Calendar Sync Users'", "'" + outOfScope[0] + "'", "Get-ManagementRoleAssignment -Role ApplicationImpersonation"} {
		if !strings.Contains(fix, s) {
			t.Errorf("fix lacks %q:\n%s", s, fix)
		}
	}
	if strings.Contains(fix, "New-ManagementRoleAssignment") {
		t.Errorf("some users are in scope, so the role exists; fix should not create it:\n%s", fix)
	}
	// Streaming and pull still run as a user in scope.
	for _, id := range []string{check.IDStreaming, check.IDPull} {
		if r := result(t, rep, id); r.Status != check.StatusOK {
			t.Errorf("%s = %s (%s), want ok", id, r.Status, r.Summary)
		}
	}
	if rep.ExitCode(false) != 1 {
		t.Errorf("exit code = %d, want 1", rep.ExitCode(false))
	}
	out := text(t, rep)
	if !strings.Contains(out, "✗ ErrorImpersonateUserDenied") || !strings.Contains(out, "users: "+strings.Join(outOfScope, ", ")) {
		t.Errorf("text report does not list the users:\n%s", out)
	}
}

func TestNoImpersonationRoleAtAll(t *testing.T) {
	env := checktest.New(t, 12, nil)
	if err := env.Sim.SetImpersonationScope(env.Sim.ServiceAccount(), []string{}); err != nil {
		t.Fatal(err)
	}
	rep := run(t, env.Options("secret"))
	imp := result(t, rep, check.IDImpersonation)
	if imp.Status != check.StatusFail || len(imp.Failures) != 1 || imp.Failures[0].Count != 12 {
		t.Fatalf("impersonation = %+v", imp)
	}
	fix := strings.Join(imp.Failures[0].Fix, "\n")
	if !strings.Contains(fix, "New-ManagementRoleAssignment -Name 'calsync impersonation' -Role ApplicationImpersonation -User '"+env.Sim.ServiceAccount()+"' -CustomRecipientWriteScope 'calsync impersonation scope'") {
		t.Errorf("fix does not assign the role:\n%s", fix)
	}
	out := text(t, rep)
	if !strings.Contains(out, "and 2 more") {
		t.Errorf("text report should name 10 users and count the rest:\n%s", out)
	}
	for _, id := range []string{check.IDStreaming, check.IDPull} {
		if r := result(t, rep, id); r.Status != check.StatusSkip {
			t.Errorf("%s = %s, want skip without an impersonable user", id, r.Status)
		}
	}
}

func TestUnknownMailbox(t *testing.T) {
	env := checktest.New(t, 5, nil)
	o := env.Options("secret")
	o.Users = append(o.Users, check.User{SMTP: "nobody@example.com"})
	rep := run(t, o)
	imp := result(t, rep, check.IDImpersonation)
	if imp.Status != check.StatusFail || len(imp.Failures) != 1 || imp.Failures[0].Code != "ErrorNonExistentMailbox" ||
		!slices.Equal(imp.Failures[0].Users, []string{"nobody@example.com"}) {
		t.Fatalf("impersonation = %+v", imp)
	}
	ad := result(t, rep, check.IDAutodiscover)
	if ad.Status != check.StatusWarn || len(ad.Failures) != 1 || ad.Failures[0].Code != "InvalidUser" {
		t.Errorf("autodiscover = %+v", ad)
	}
}

func TestWrongPassword(t *testing.T) {
	env := checktest.New(t, 20, nil)
	o := env.Options("not-the-password")
	rep := run(t, o)
	auth := result(t, rep, check.IDAuthentication)
	if auth.Status != check.StatusFail || !strings.Contains(auth.Summary, "credentials were rejected") {
		t.Fatalf("authentication = %s: %s", auth.Status, auth.Summary)
	}
	fix := strings.Join(auth.Fix, "\n")
	for _, s := range []string{"exchange.auth.username", "Get-ADUser", "LockedOut", "Unlock-ADAccount", "Get-WebServicesVirtualDirectory"} {
		if !strings.Contains(fix, s) {
			t.Errorf("fix lacks %q:\n%s", s, fix)
		}
	}
	for _, id := range []string{check.IDVersion, check.IDAutodiscover, check.IDImpersonation, check.IDStreaming, check.IDPull, check.IDAutomaticReplies, check.IDThrottling} {
		if r := result(t, rep, id); r.Status != check.StatusSkip {
			t.Errorf("%s = %s, want skipped after the authentication failure", id, r.Status)
		}
	}
	out := text(t, rep)
	if strings.Contains(out, "not-the-password") {
		t.Errorf("the report prints the password:\n%s", out)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), "not-the-password") {
		t.Errorf("the JSON report prints the password")
	}
	if rep.ExitCode(false) != 1 {
		t.Errorf("exit code = %d, want 1", rep.ExitCode(false))
	}
}

func TestAuthMethodNotEnabled(t *testing.T) {
	env := checktest.New(t, 3, nil)
	o := env.Options("secret")
	o.Exchange.Auth.Method = config.AuthOAuth2
	o.HTTPClient = http.DefaultClient // sends no credentials: the server offers only Basic
	rep := run(t, o)
	auth := result(t, rep, check.IDAuthentication)
	if auth.Status != check.StatusFail || !strings.Contains(auth.Summary, "oauth2 authentication is not enabled") {
		t.Fatalf("authentication = %s: %s", auth.Status, auth.Summary)
	}
	if !strings.Contains(strings.Join(auth.Fix, "\n"), "Set-WebServicesVirtualDirectory -OAuthAuthentication $true") {
		t.Errorf("fix = %q", auth.Fix)
	}
}

func TestStreamingBlockedByLoadBalancer(t *testing.T) {
	tests := []struct {
		name    string
		mode    checktest.LBMode
		summary string
	}{
		{"502", checktest.LBBadGateway, "HTTP 502 on GetStreamingEvents"},
		{"closed after headers", checktest.LBCloseAfterHead, "closed before the first heartbeat"},
		{"buffered", checktest.LBBuffer, "no heartbeat arrived within"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := checktest.New(t, 6, checktest.LoadBalancer(tc.mode))
			o := env.Options("secret")
			o.StreamWait = 500 * time.Millisecond // a heartbeat comes at connect; waiting longer proves nothing
			rep := run(t, o)
			st := result(t, rep, check.IDStreaming)
			if st.Status != check.StatusFail || !strings.Contains(st.Summary, tc.summary) {
				t.Fatalf("streaming = %s: %s, want %q\n%s", st.Status, st.Summary, tc.summary, text(t, rep))
			}
			fix := strings.Join(st.Fix, "\n")
			for _, s := range []string{"load balancer", "exchange.notifications.mode: pull"} {
				if !strings.Contains(fix, s) {
					t.Errorf("fix lacks %q:\n%s", s, fix)
				}
			}
			if p := result(t, rep, check.IDPull); p.Status != check.StatusOK {
				t.Errorf("pull = %s (%s), want ok", p.Status, p.Summary)
			}
			if rep.ExitCode(false) != 1 {
				t.Errorf("exit code = %d, want 1", rep.ExitCode(false))
			}
		})
	}
}

func TestStreamingFailureIsAWarningInPullMode(t *testing.T) {
	env := checktest.New(t, 6, checktest.LoadBalancer(checktest.LBBadGateway))
	o := env.Options("secret")
	o.Exchange.Notifications.Mode = config.Pull
	rep := run(t, o)
	st := result(t, rep, check.IDStreaming)
	if st.Status != check.StatusWarn || !strings.Contains(strings.Join(st.Details, " "), "configured for pull") {
		t.Errorf("streaming with pull configured = %+v, want warn", st)
	}
	if rep.ExitCode(false) != 0 || rep.ExitCode(true) != 1 {
		t.Errorf("exit codes = %d (strict %d), want 0 (strict 1)", rep.ExitCode(false), rep.ExitCode(true))
	}
}

func TestStreamingConnectionLimit(t *testing.T) {
	env := checktest.New(t, 4, nil)
	p := env.Sim.Policy()
	p.HangingConnectionLimit = 1
	env.Sim.SetPolicy(p)
	// Another client of the service account holds the only connection.
	o := env.Options("secret")
	holder := loadBalancerHold(t, env, o)
	defer holder()
	rep := run(t, o)
	st := result(t, rep, check.IDStreaming)
	if st.Status != check.StatusFail || !strings.Contains(st.Summary, "ErrorExceededConnectionCount") {
		t.Fatalf("streaming = %s: %s", st.Status, st.Summary)
	}
	if !strings.Contains(strings.Join(st.Fix, "\n"), "HangingConnectionLimit") {
		t.Errorf("fix = %q", st.Fix)
	}
}

func TestJSONReport(t *testing.T) {
	env := checktest.New(t, 6, nil)
	if err := env.Sim.SetImpersonationScope(env.Sim.ServiceAccount(), env.Users[1:]); err != nil {
		t.Fatal(err)
	}
	rep := run(t, env.Options("secret"))
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema   string `json:"schema"`
		Endpoint string `json:"endpoint"`
		Users    int    `json:"users"`
		Status   string `json:"status"`
		Summary  struct {
			OK, Warn, Fail, Skip int
		} `json:"summary"`
		Checks []struct {
			ID       string            `json:"id"`
			Status   string            `json:"status"`
			Summary  string            `json:"summary"`
			Facts    map[string]string `json:"facts"`
			Failures []struct {
				Code  string   `json:"code"`
				Users []string `json:"users"`
				Count int      `json:"count"`
				Fix   []string `json:"fix"`
			} `json:"failures"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b.String())
	}
	if doc.Schema != check.SchemaVersion || doc.Users != 6 || doc.Status != "fail" || len(doc.Checks) != 11 ||
		doc.Summary.Fail != 1 || doc.Summary.OK != 9 || doc.Summary.Skip != 1 {
		t.Errorf("report header = %+v", doc)
	}
	if !strings.HasSuffix(doc.Endpoint, "/EWS/Exchange.asmx") {
		t.Errorf("endpoint = %q", doc.Endpoint)
	}
	imp := doc.Checks[6]
	if imp.ID != "impersonation" || imp.Status != "fail" || len(imp.Failures) != 1 ||
		imp.Failures[0].Code != "ErrorImpersonateUserDenied" || !slices.Equal(imp.Failures[0].Users, env.Users[:1]) ||
		len(imp.Failures[0].Fix) == 0 {
		t.Errorf("impersonation = %+v", imp)
	}
}

// loadBalancerHold opens a streaming connection impersonating the first
// user, as another client of the service account would, and returns the
// function that closes it.
func loadBalancerHold(t *testing.T, env *checktest.Env, o check.Options) func() {
	t.Helper()
	hc := ewsclient.BasicAuth(http.DefaultClient, o.Exchange.Auth.Username, o.Exchange.Auth.Password.Value())
	c, err := ewsclient.New(o.Exchange.EWSURL, &ewsclient.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call := ewsclient.Call{ActAs: ews.ImpersonateSMTP(env.Users[0]), Affinity: ewsclient.NewAffinity("")}
	sub, err := c.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: ews.SubscriptionStreaming})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	s, err := c.GetStreamingEvents(ctx, call, ewsclient.StreamRequest{SubscriptionIds: []string{sub.Id}, ConnectionTimeoutMinutes: 1})
	if err != nil {
		t.Fatalf("GetStreamingEvents: %v", err)
	}
	if b, err := s.Next(); err != nil || b.Status != ews.ConnectionOK {
		t.Fatalf("first envelope = %+v, %v", b, err)
	}
	return func() { _ = s.Close() }
}

func TestThrottledUsersAreRetriedAfterTheBackOff(t *testing.T) {
	env := checktest.New(t, 20, nil)
	if _, err := env.Sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultServerBusy, Percent: 30}); err != nil {
		t.Fatal(err)
	}
	o := env.Options("secret")
	clk := clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	o.Clock = clk
	o.MaxRetryWait = 10 * time.Second // the simulator hints 5 s
	// One user at a time: the simulator answers every third or fourth
	// request busy, so a retry right after a busy answer always passes.
	// With several users in flight one user could draw busy answers for
	// all its retries, depending on scheduling.
	o.Concurrency = 1
	type outcome struct {
		rep *check.Report
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		rep, err := check.Run(context.Background(), o)
		done <- outcome{rep, err}
	}()
	// Let every back-off wait elapse on the fake clock.
	deadline := time.Now().Add(30 * time.Second)
	var got outcome
	for finished := false; !finished; {
		select {
		case got = <-done:
			finished = true
		default:
			if time.Now().After(deadline) {
				t.Fatal("Run did not finish")
			}
			if clk.PendingTimers() > 0 {
				clk.Advance(5 * time.Second)
			}
			runtime.Gosched()
		}
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	rep := got.rep
	if imp := result(t, rep, check.IDImpersonation); imp.Status != check.StatusOK || imp.Facts["users_ok"] != "20" {
		t.Errorf("impersonation = %s %v, want all 20 ok after retries\n%s", imp.Status, imp.Facts, text(t, rep))
	}
	th := result(t, rep, check.IDThrottling)
	if th.Status != check.StatusWarn || len(th.Failures) == 0 || th.Failures[0].Code != "ErrorServerBusy" || th.Facts["longest_back_off"] != "5s" {
		t.Fatalf("throttling = %+v", th)
	}
	fix := strings.Join(th.Fix, "\n")
	if !strings.Contains(fix, "New-ThrottlingPolicy -Name 'calsync throttling policy'") || regexp.MustCompile(`-Ews\w+ Unlimited`).MatchString(fix) {
		t.Errorf("throttling fix = %s", fix)
	}
}

func TestThrottledBeyondTheWaitIsAWarning(t *testing.T) {
	env := checktest.New(t, 20, nil)
	if _, err := env.Sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultServerBusy, Percent: 30}); err != nil {
		t.Fatal(err)
	}
	o := env.Options("secret")
	o.MaxRetryWait = time.Millisecond // shorter than the simulator's 5 s hint: no retry
	rep := run(t, o)
	imp := result(t, rep, check.IDImpersonation)
	if imp.Status != check.StatusWarn || len(imp.Failures) != 1 || imp.Failures[0].Code != "ErrorServerBusy" || imp.Failures[0].Count == 0 {
		t.Errorf("impersonation = %+v", imp)
	}
	if th := result(t, rep, check.IDThrottling); th.Status != check.StatusWarn {
		t.Errorf("throttling = %s", th.Status)
	}
}

func TestNTLM(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: 4, Password: "secret"}, NTLM: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); sim.Close() })
	o := check.Options{Exchange: config.Exchange{EWSURL: srv.URL + "/EWS/Exchange.asmx",
		Auth: config.Auth{Method: config.AuthNTLM, Username: `EXAMPLE\svc-calsync`, Password: config.NewSecret("secret", "test")}},
		Users: []check.User{{SMTP: "user1@example.com"}, {SMTP: "user2@example.com"}}, Timeout: 10 * time.Second, StreamWait: 10 * time.Second}
	rep := run(t, o)
	if rep.Status != check.StatusOK {
		t.Errorf("NTLM run: %s\n%s", rep.Status, text(t, rep))
	}
	o.Exchange.Auth.Method = config.AuthBasic // the simulator offers only NTLM and Negotiate
	rep = run(t, o)
	auth := result(t, rep, check.IDAuthentication)
	if auth.Status != check.StatusFail || !strings.Contains(auth.Summary, "basic authentication is not enabled") ||
		!strings.Contains(strings.Join(auth.Fix, "\n"), "Set-WebServicesVirtualDirectory -BasicAuthentication $true") {
		t.Errorf("basic against an NTLM-only server = %s: %s %q", auth.Status, auth.Summary, auth.Fix)
	}
}

func TestImpersonationIDTypes(t *testing.T) {
	env := checktest.New(t, 3, nil)
	o := env.Options("secret")
	o.Exchange.Impersonation.IDType = config.ImpersonateSID
	for i := range o.Users[:2] {
		sid, ok := env.Sim.SIDOf(o.Users[i].SMTP)
		if !ok {
			t.Fatalf("no SID for %s", o.Users[i].SMTP)
		}
		o.Users[i].SID = sid
	}
	rep := run(t, o)
	imp := result(t, rep, check.IDImpersonation)
	if imp.Facts["users_ok"] != "2" || len(imp.Failures) != 1 || imp.Failures[0].Code != "missing identifier" ||
		!slices.Equal(imp.Failures[0].Users, []string{o.Users[2].SMTP}) {
		t.Errorf("impersonation by SID = %+v", imp)
	}
	if !strings.Contains(strings.Join(imp.Failures[0].Fix, " "), "exchange.impersonation.id_type: smtp") {
		t.Errorf("fix = %q", imp.Failures[0].Fix)
	}
}

// concurrencyMeter counts EWS requests in flight and remembers the most.
type concurrencyMeter struct {
	mu       sync.Mutex
	inFlight int
	max      int
}

func (m *concurrencyMeter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.inFlight++
		m.max = max(m.max, m.inFlight)
		m.mu.Unlock()
		defer func() {
			m.mu.Lock()
			m.inFlight--
			m.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

func TestImpersonationIsBoundedAndCoversEveryUser(t *testing.T) {
	meter := &concurrencyMeter{}
	env := checktest.New(t, 95, meter.wrap)
	if _, err := env.Sim.InjectFault(ewssim.Fault{Kind: ewssim.FaultLatency, LatencyMS: 2}); err != nil {
		t.Fatal(err)
	}
	o := env.Options("secret")
	o.Concurrency = 3
	o.ThrottleProbes = 1
	rep := run(t, o)
	imp := result(t, rep, check.IDImpersonation)
	if imp.Status != check.StatusOK || imp.Facts["users_ok"] != "95" || imp.Facts["users_checked"] != "95" {
		t.Errorf("impersonation = %+v", imp)
	}
	// The pool is the only source of parallel requests (one probe call).
	meter.mu.Lock()
	peak := meter.max
	meter.mu.Unlock()
	if peak > 3 {
		t.Errorf("%d requests were in flight at once, want at most the pool's 3", peak)
	}
	if ad := result(t, rep, check.IDAutodiscover); ad.Facts["users_found"] != "95" {
		t.Errorf("autodiscover over two batches found %s users", ad.Facts["users_found"])
	}
}

func TestCancelled(t *testing.T) {
	env := checktest.New(t, 3, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := check.Run(ctx, env.Options("secret"))
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Errorf("Run on a cancelled context = %v, %v", rep, err)
	}
}

func TestAutodiscoverUnreachableIsAWarning(t *testing.T) {
	env := checktest.New(t, 4, nil)
	o := env.Options("secret")
	o.Exchange.AutodiscoverURL = env.Srv.URL + "/nowhere/autodiscover.svc"
	rep := run(t, o)
	ad := result(t, rep, check.IDAutodiscover)
	if ad.Status != check.StatusWarn || !strings.Contains(ad.Summary, "Autodiscover failed") ||
		!strings.Contains(strings.Join(ad.Fix, " "), "exchange.autodiscover_url") {
		t.Errorf("autodiscover = %+v", ad)
	}
	if imp := result(t, rep, check.IDImpersonation); imp.Status != check.StatusOK {
		t.Errorf("impersonation = %s, want ok without Autodiscover", imp.Status)
	}
}

// TestAutodiscoverNotConfiguredWarnsAboutAffinity: without
// exchange.autodiscover_url calsync run uses one group on ews_url; when
// Autodiscover next to the EWS URL reports several groups, check says so
// and gives the setting.
func TestAutodiscoverNotConfiguredWarnsAboutAffinity(t *testing.T) {
	env := checktest.New(t, 6, nil)
	o := env.Options("secret")
	o.Exchange.AutodiscoverURL = ""
	rep := run(t, o)
	res, ok := rep.Result(check.IDAutodiscover)
	if !ok {
		t.Fatal("no Autodiscover result")
	}
	out := text(t, rep)
	if res.Status != check.StatusWarn {
		t.Errorf("Autodiscover status %s, want warn\n%s", res.Status, out)
	}
	for _, want := range []string{"exchange.autodiscover_url is not set: calsync run syncs every mailbox through exchange.ews_url as one group",
		"set exchange.autodiscover_url: " + env.Srv.URL + "/autodiscover/autodiscover.svc"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
