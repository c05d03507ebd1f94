package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/store"
)

type exchangeFunc func() api.ExchangeHealth

func (f exchangeFunc) ExchangeHealth() api.ExchangeHealth { return f() }

// TestExchangeRejectedCredentialsReadAsOneState: with the service account
// rejected, the sync overview carries the exchange block, and /readyz
// summarises thousands of identical failures as counts per code with at
// most 20 examples (the last error only to authenticated callers).
func TestExchangeRejectedCredentialsReadAsOneState(t *testing.T) {
	since := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	next := since.Add(40 * time.Second)
	var statuses []store.MailboxStatus
	for i := range 30 {
		statuses = append(statuses, store.MailboxStatus{SMTP: fmt.Sprintf("u%02d@example.com", i), State: "waiting",
			LastError: &store.SyncError{Code: "WaitingForCredentials", Message: "waiting", At: since}})
	}
	statuses = append(statuses, store.MailboxStatus{SMTP: "z@example.com", State: "denied", ConsecutiveFailures: 1,
		LastError: &store.SyncError{Code: "ErrorImpersonateUserDenied", At: since}})
	sync := apitest.NewSync(statuses...)
	health := exchangeFunc(func() api.ExchangeHealth {
		return api.ExchangeHealth{State: "credentials_rejected", Since: since, NextAttempt: next, LastError: "HTTP401: 401 Unauthorized"}
	})
	h, err := api.New(api.Options{Presence: apitest.NewPresence(), Sync: sync, Exchange: health, Tokens: []string{"a-token-of-16-chars"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, _ := apiclient.New(srv.URL, "a-token-of-16-chars", srv.Client())
	anon, _ := apiclient.New(srv.URL, "", srv.Client())
	ctx := context.Background()

	ov, err := c.SyncOverview(ctx, apiclient.SyncOverviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := ov.Exchange
	if x == nil || x.State != "credentials_rejected" || x.Since == nil || !x.Since.Equal(since) || x.NextAttempt == nil || !x.NextAttempt.Equal(next) || x.LastError == "" {
		t.Errorf("sync overview exchange = %+v, want credentials_rejected since %s, next attempt %s, the last error", x, since, next)
	}

	r, err := c.Ready(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "degraded" || r.Exchange == nil || r.Exchange.State != "credentials_rejected" {
		t.Errorf("readyz = %+v, want degraded with the exchange state", r)
	}
	if r.ProblemCount != 31 || len(r.Problems) != api.MaxReadinessExamples {
		t.Errorf("readyz problem_count %d with %d examples, want 31 with %d", r.ProblemCount, len(r.Problems), api.MaxReadinessExamples)
	}
	if r.ProblemsByCode["WaitingForCredentials"] != 30 || r.ProblemsByCode["ErrorImpersonateUserDenied"] != 1 {
		t.Errorf("readyz problems_by_code = %v, want 30 WaitingForCredentials and 1 ErrorImpersonateUserDenied", r.ProblemsByCode)
	}
	ra, err := anon.Ready(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Exchange == nil || ra.Exchange.State != "credentials_rejected" || ra.Exchange.LastError != "" || len(ra.Problems) != 0 || ra.ProblemsByCode != nil {
		t.Errorf("anonymous readyz = %+v, want the exchange state without its error and no details", ra)
	}
}
