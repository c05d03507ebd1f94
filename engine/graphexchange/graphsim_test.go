package graphexchange_test

import (
	"testing"
	"time"

	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// cloudSim is a simulator of n generated mailboxes, all of them in
// Exchange Online: Graph serves cloud mailboxes only (ewsmem's hybrid
// hosting).
func cloudSim(t *testing.T, n int, seed uint64) *ewssim.Simulator {
	t.Helper()
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: n, Seed: seed}, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	if err := sim.PlaceInCloud(sim.Mailboxes()...); err != nil {
		t.Fatal(err)
	}
	return sim
}

// The engine syncs the simulator's mailboxes through its Graph face
// (graph/graphserver) while the simulator churns, and ends with the same
// calendars as the model: 0 divergent mailboxes.
func TestEngineSyncsSimulatorOverGraphUnderChurn(t *testing.T) {
	sim := cloudSim(t, 20, 11)
	mailboxes := graphtest.Users(sim)
	st := memstore.New()
	graphtest.StartPull(t, graphtest.Graph(t, sim), st, mailboxes)

	var last []string
	defer func() {
		if t.Failed() {
			t.Logf("divergent mailboxes: %v", last)
		}
	}()
	converged := func() bool { last = graphtest.Divergent(t, sim, st, mailboxes); return len(last) == 0 }
	testenv.WaitForWithin(t, 2*time.Minute, "the initial load over Graph", converged)
	if err := sim.StartChurn(20, 5); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "churn to change calendars", func() bool { return sim.Stats().ChurnChanges >= 40 })
	sim.StopChurn()
	testenv.WaitForWithin(t, 2*time.Minute, "0 divergent mailboxes after churn", converged)
}
