package graphexchange_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// simView is what both faces must agree on for one occurrence; ids differ
// between EWS and Graph, so they are left out.
func simView(o calendar.Occurrence) string {
	return fmt.Sprintf("%s|%s|%s|%v|%v|%s|%s", o.Subject, o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339),
		o.AllDay, o.Cancelled, o.FreeBusy, o.Sensitivity)
}

// The engine syncs the simulator's mailboxes through its Graph face
// (graph/graphserver) while the simulator churns, and ends with the same
// calendars as the model: 0 divergent mailboxes.
func TestEngineSyncsSimulatorOverGraphUnderChurn(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 20, Seed: 11}, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	gs, err := graphserver.New(sim, graphserver.Options{Tenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gs)
	t.Cleanup(func() { srv.Close(); gs.Close() })

	ts, err := graphclient.NewTokenSource(graphclient.Credentials{TenantID: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "secret-1", LoginURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := graphclient.New(ts, &graphclient.Options{GraphURL: srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var mailboxes []string
	for _, m := range sim.Mailboxes() {
		if m != sim.ServiceAccount() {
			mailboxes = append(mailboxes, m)
		}
	}
	st := memstore.New()
	startEngine(t, graphexchange.New(gc, nil), st, mailboxes)

	var last []string
	defer func() {
		if t.Failed() {
			t.Logf("divergent mailboxes: %v", last)
		}
	}()
	divergentSim := func() []string {
		var out []string
		for _, m := range mailboxes {
			rec, err := st.Mailbox(context.Background(), m)
			if err != nil || rec.Checkpoint.Window.IsZero() {
				out = append(out, m+": not loaded")
				continue
			}
			w := rec.Checkpoint.Window
			truth, err := sim.Occurrences(m, w.Start, w.End)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for i := range truth {
				if !truth[i].End.After(w.Start) && truth[i].Start.Before(w.Start) {
					continue
				}
				o, err := ewsexchange.Occurrence(&truth[i])
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, simView(o))
			}
			stored, _ := st.Occurrences(context.Background(), m, w.Start, w.End)
			for _, o := range stored {
				got = append(got, simView(o))
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(want, got) {
				out = append(out, fmt.Sprintf("%s: stored %d, model %d", m, len(got), len(want)))
			}
		}
		return out
	}
	testenv.WaitForWithin(t, 2*time.Minute, "the initial load over Graph", func() bool { last = divergentSim(); return len(last) == 0 })

	if err := sim.StartChurn(20, 5); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "churn to change calendars", func() bool { return sim.Stats().ChurnChanges >= 40 })
	sim.StopChurn()
	testenv.WaitForWithin(t, 2*time.Minute, "0 divergent mailboxes after churn", func() bool { last = divergentSim(); return len(last) == 0 })
}
