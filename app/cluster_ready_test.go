package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/pgstore/pgtest"
)

// TestClusterReadinessIsTheAPIs: in a cluster /readyz says whether the
// instance's API can answer for the cluster. An instance that owns no
// mailbox (two instances, one mailbox) is ready — it answers reads for
// every mailbox and forwards writes, so a load balancer keeps it — and
// one that lost the database is not, once its registration ran out.
func TestClusterReadinessIsTheAPIs(t *testing.T) {
	dbURL := pgtest.Database(t)
	sim, simURL, users := startSimOrg(t, 1, 1, 3)
	hooks := httptest.NewServer(&hookRecorder{})
	t.Cleanup(hooks.Close)
	a := startInstance(t, "calsync-a", dbURL, simURL, sim, users, hooks.URL)
	b := startInstance(t, "calsync-b", dbURL, simURL, sim, users, hooks.URL)
	var idle, owner *instance
	testenv.WaitFor(t, "the mailbox live on one instance", func() bool {
		switch {
		case len(a.app.Owned()) == 1 && len(b.app.Owned()) == 0:
			owner, idle = a, b
		case len(b.app.Owned()) == 1 && len(a.app.Owned()) == 0:
			owner, idle = b, a
		default:
			return false
		}
		return owner.live() == 1
	})
	testenv.WaitFor(t, idle.id+" (owning nothing) ready", func() bool {
		r, err := idle.api.Ready(context.Background())
		return err == nil && r.Status != "not_ready"
	})
	if p, err := idle.api.Presence(context.Background(), users[0]); err != nil || p.User != users[0] {
		t.Errorf("presence through %s, which owns nothing: %+v, %v", idle.id, p, err)
	}
	// The database goes away under the idle instance; its API still runs.
	_ = idle.app.Store().Close()
	testenv.WaitFor(t, idle.id+" not ready once its registration ran out", func() bool {
		_, err := idle.api.Ready(context.Background())
		var e *apiclient.Error
		return errors.As(err, &e) && e.Status == http.StatusServiceUnavailable
	})
	if r, err := owner.api.Ready(context.Background()); err != nil || r.Status == "not_ready" {
		t.Errorf("%s, which still reaches the database: %+v, %v", owner.id, r, err)
	}
}
