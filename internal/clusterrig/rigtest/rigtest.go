// Package rigtest starts a clusterrig cluster for a test: it builds the
// calsync binary into the test's folder (the go build cache makes that a
// link step after the first), fails with CI=true and skips
// otherwise when PostgreSQL is not installed (internal/testenv), shows
// the tail of every instance's log when the test failed, and ends every
// process when the test ends.
package rigtest

import (
	"errors"
	"testing"

	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/internal/pgserver"
	"github.com/calsync/calsync/internal/testenv"
)

// Start checks for PostgreSQL, builds calsync (unless o.Binary is set)
// and starts the rig; its folder is a t.TempDir unless o.Dir is set.
func Start(t testing.TB, o clusterrig.Options) *clusterrig.Rig {
	t.Helper()
	if _, err := pgserver.Binaries(); err != nil {
		testenv.Missing(t, err.Error(), pgserver.Install)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Binary == "" {
		var err error
		if o.Binary, err = clusterrig.Build(t.Context(), o.Dir); err != nil {
			t.Fatal(err)
		}
	}
	r, err := clusterrig.Start(t.Context(), o)
	var missing *clusterrig.MissingError
	if errors.As(err, &missing) {
		testenv.Missing(t, missing.What, missing.Install)
	}
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, in := range r.Instances() {
				t.Logf("log of %s (%s), last lines:\n%s", in.ID, in.LogPath(), in.LogTail(40))
			}
		}
		r.Close()
	})
	return r
}
