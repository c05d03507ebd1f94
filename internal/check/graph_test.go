package check_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/check"
)

// calsync check with exchange_online alone: the token, then every user
// over Graph; an unknown user is reported with its cause, a wrong secret
// stops the run at the token with the fix.
func TestGraphChecks(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 3, Seed: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	// Graph serves cloud mailboxes only (ewsmem's hybrid hosting).
	if err := sim.PlaceInCloud(sim.Mailboxes()...); err != nil {
		t.Fatal(err)
	}
	gs, err := graphserver.New(sim, graphserver.Options{Tenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "graph-secret"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gs)
	t.Cleanup(func() { srv.Close(); gs.Close() })
	x := &config.ExchangeOnline{TenantID: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: config.NewSecret("graph-secret", "test"),
		GraphURL: srv.URL + "/v1.0", LoginURL: srv.URL}
	users := []check.User{{SMTP: "user1@example.com"}, {SMTP: "user2@example.com"}, {SMTP: "ghost@example.com"}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	rep, err := check.Run(ctx, check.Options{ExchangeOnline: x, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != 2 || rep.Checks[0].ID != check.IDGraphToken || rep.Checks[0].Status != check.StatusOK {
		t.Fatalf("checks = %+v", rep.Checks)
	}
	mb := rep.Checks[1]
	if mb.Status != check.StatusFail || mb.Facts["cloud"] != "2" || len(mb.Failures) != 1 ||
		mb.Failures[0].Code != "ErrorInvalidUser" || strings.Join(mb.Failures[0].Users, ",") != "ghost@example.com" {
		t.Errorf("mailboxes = %+v", mb)
	}
	if rep.Endpoint != x.GraphURL {
		t.Errorf("endpoint = %q", rep.Endpoint)
	}

	bad := *x
	bad.ClientSecret = config.NewSecret("wrong", "test")
	rep, err = check.Run(ctx, check.Options{ExchangeOnline: &bad, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	tok := rep.Checks[0]
	if tok.Status != check.StatusFail || len(tok.Fix) == 0 || !strings.Contains(tok.Fix[0], "rejected the app's credentials") || rep.Checks[1].Status != check.StatusSkip {
		t.Errorf("wrong secret: %+v", rep.Checks)
	}
	if strings.Contains(tok.Summary, "wrong") {
		t.Errorf("the secret shows in %q", tok.Summary)
	}
}
