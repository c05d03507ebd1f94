package app_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/internal/testenv"
)

// TestWrongPasswordIsOneExchangeState: with a wrong service-account
// password the instance says so once — the exchange block of the sync
// overview and /readyz is credentials_rejected with the next attempt — and
// the initial-sync log counts every mailbox as failing (it said failing=0).
func TestWrongPasswordIsOneExchangeState(t *testing.T) {
	var logs testenv.SyncBuffer
	_, c, _ := startAppWithConfig(t, config.Streaming, 3, func(setup *appSetup) {
		setup.cfg.Exchange.Auth.Password = config.NewSecret("not-the-password", "test")
		setup.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ctx := context.Background()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	testenv.WaitFor(t, "the exchange block saying credentials_rejected", func() bool {
		ov, err := c.SyncOverview(ctx, apiclient.SyncOverviewOptions{})
		return err == nil && ov.Exchange != nil && ov.Exchange.State == "credentials_rejected" && ov.Exchange.NextAttempt != nil
	})
	r, _ := c.Ready(ctx) // 503 not_ready: no mailbox is live
	if r.Exchange == nil || r.Exchange.State != "credentials_rejected" {
		t.Errorf("readyz = %+v, want the exchange block with credentials_rejected", r)
	}
	testenv.WaitFor(t, "the initial sync summary in the log", func() bool {
		return strings.Contains(logs.String(), "initial sync done")
	})
	for _, want := range []string{"mailboxes=3", "live=0", "failing=3"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "not-the-password") {
		t.Error("the log contains the password")
	}
}
