// Package graphtest holds what the tests of the Graph and hybrid backends
// share: the simulator's Graph face with a client on it, an engine in pull
// mode with test timings, and the comparison of what the engine stored
// with the simulator's model.
package graphtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/store"
)

// Tenant, ClientID and Secret are the app the simulated Graph accepts.
const (
	Tenant   = "contoso.onmicrosoft.com"
	ClientID = "app-1"
	Secret   = "secret-1"
)

// Graph serves model's Graph face on an httptest server (closed with the
// test) and returns graphexchange over a client with a secret.
func Graph(t testing.TB, model graphserver.Mailboxes) *graphexchange.Client {
	t.Helper()
	_, gc := Serve(t, model, nil)
	return graphexchange.New(gc, nil)
}

// Serve is Graph with the server's options adjusted by mod; it returns the
// server (to inject lifecycle events) and the client.
func Serve(t testing.TB, model graphserver.Mailboxes, mod func(*graphserver.Options)) (*graphserver.Server, *graphclient.Client) {
	t.Helper()
	o := graphserver.Options{Tenant: Tenant, ClientID: ClientID, ClientSecret: Secret}
	if mod != nil {
		mod(&o)
	}
	gs, err := graphserver.New(model, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gs)
	t.Cleanup(func() { srv.Close(); gs.Close() })
	ts, err := graphclient.NewTokenSource(graphclient.Credentials{TenantID: Tenant, ClientID: ClientID, ClientSecret: Secret, LoginURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := graphclient.New(ts, &graphclient.Options{GraphURL: srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return gs, gc
}

// Webhook returns graphexchange over gc in webhook mode, its receiver
// served on an httptest server (closed with the test) and a delta round
// at least every safety.
func Webhook(t testing.TB, gc *graphclient.Client, clientState string, safety time.Duration) *graphexchange.Client {
	t.Helper()
	var x *graphexchange.Client // the URL must exist before the client that subscribes to it
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { x.Receiver().ServeHTTP(w, r) }))
	t.Cleanup(hook.Close)
	x = graphexchange.New(gc, &graphexchange.Options{Webhook: &graphexchange.WebhookOptions{
		NotificationURL: hook.URL + "/notify", LifecycleURL: hook.URL + "/lifecycle", ClientState: clientState, SafetyInterval: safety}})
	return x
}

// StartPull runs an engine over ex in pull mode with test timings
// (reconciliation off: only pulls find changes) until the test ends.
func StartPull(t testing.TB, ex engine.Exchange, st store.Store, mailboxes []string) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Store: st, Exchange: ex, Mode: engine.Pull,
		CoalesceDelay: 20 * time.Millisecond, PullInterval: 50 * time.Millisecond, ReconcileInterval: -1,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, DiscoverBatchDelay: 5 * time.Millisecond,
		SlowRetry: 200 * time.Millisecond, RegroupDelay: 20 * time.Millisecond,
		Budget: engine.BudgetConfig{MaxBackOff: time.Second, ThrottlePause: 50 * time.Millisecond, CredentialPause: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	e.SetMailboxes(mailboxes)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine.Run after the test: %v", err)
		}
	})
	return e
}

// Users returns the simulator's mailboxes without the service account.
func Users(sim *ewssim.Simulator) []string {
	var out []string
	for _, m := range sim.Mailboxes() {
		if m != sim.ServiceAccount() {
			out = append(out, m)
		}
	}
	return out
}

// View is what both faces must agree on for one occurrence; ids differ
// between EWS and Graph, so they are left out.
func View(o calendar.Occurrence) string {
	return fmt.Sprintf("%s|%s|%s|%v|%v|%s|%s", o.Subject, o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339),
		o.AllDay, o.Cancelled, o.FreeBusy, o.Sensitivity)
}

// Divergent names the mailboxes whose stored window differs from the
// simulator's model (compared by View).
func Divergent(t testing.TB, sim *ewssim.Simulator, st store.Store, mailboxes []string) []string {
	t.Helper()
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
				continue // ends at the window's start: no time of the window, not stored
			}
			o, err := ewsexchange.Occurrence(&truth[i])
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, View(o))
		}
		stored, err := st.Occurrences(context.Background(), m, w.Start, w.End)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range stored {
			got = append(got, View(o))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			out = append(out, fmt.Sprintf("%s: stored %d, model %d", m, len(got), len(want)))
		}
	}
	return out
}
