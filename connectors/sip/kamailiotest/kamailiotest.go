// Package kamailiotest gives tests a real, throwaway Kamailio presence
// server (package kamailio), stopped and removed when the test ends.
// Without Kamailio a test fails when CI=true and is skipped otherwise,
// with the install hint (internal/testenv).
package kamailiotest

import (
	"context"
	"testing"

	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/internal/testenv"
)

// New starts a Kamailio for t.
func New(t testing.TB, opts kamailio.Options) *kamailio.Server {
	t.Helper()
	if _, err := kamailio.Binary(); err != nil {
		testenv.Missing(t, "Kamailio with its presence modules ("+err.Error()+")", kamailio.Install)
	}
	if opts.TLSCert != nil {
		if err := kamailio.TLSModule(); err != nil {
			testenv.Missing(t, "Kamailio's TLS module ("+err.Error()+")", kamailio.InstallTLS)
		}
	}
	srv, err := kamailio.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kamailio log:\n%s", tail(srv.Log(), 8000))
		}
		if err := srv.Stop(); err != nil {
			t.Errorf("stop kamailio: %v", err)
		}
	})
	return srv
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
