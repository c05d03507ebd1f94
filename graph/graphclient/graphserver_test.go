package graphclient_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/graph/graphserver"
)

// The client against the simulator's Graph face (graph/graphserver), a
// server written by someone else from the same facts: both credential
// kinds, calendarView with paging, a delta round and its replay,
// mailboxSettings and automatic replies per $batch.
func TestAgainstGraphServer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "calsync app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)

	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 5, Seed: 3}, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	// Graph serves cloud mailboxes only (ewsmem's hybrid hosting).
	if err := sim.PlaceInCloud(sim.Mailboxes()...); err != nil {
		t.Fatal(err)
	}
	gs, err := graphserver.New(sim, graphserver.Options{Tenant: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "secret-1",
		Certificates: []*x509.Certificate{cert}, EmptyFirstDeltaPage: true, PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gs)
	t.Cleanup(func() { srv.Close(); gs.Close() })
	var user string
	for _, m := range sim.Mailboxes() {
		if m != sim.ServiceAccount() {
			user = m
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	creds := map[string]graphclient.Credentials{
		"secret":      {TenantID: "contoso.onmicrosoft.com", ClientID: "app-1", ClientSecret: "secret-1", LoginURL: srv.URL},
		"certificate": {TenantID: "contoso.onmicrosoft.com", ClientID: "app-1", Certificate: cert, Key: key, LoginURL: srv.URL},
		"rs256":       {TenantID: "contoso.onmicrosoft.com", ClientID: "app-1", Certificate: cert, Key: key, LoginURL: srv.URL, LegacyRS256: true},
	}
	for name, cr := range creds {
		ts, err := graphclient.NewTokenSource(cr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Token(ctx); err != nil {
			t.Errorf("%s: token: %v", name, err)
		}
	}
	bad := creds["secret"]
	bad.ClientSecret = "wrong"
	ts, _ := graphclient.NewTokenSource(bad, nil)
	if _, err := ts.Token(ctx); graph.Classify(err) != graph.ClassCredentials {
		t.Errorf("wrong secret: %v (%s)", err, graph.Classify(err))
	}

	ts, _ = graphclient.NewTokenSource(creds["certificate"], nil)
	c, err := graphclient.New(ts, &graphclient.Options{GraphURL: srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	now := sim.Now()
	from, to := now.Add(-24*time.Hour), now.Add(14*24*time.Hour)
	evs, err := c.CalendarView(ctx, user, from, to, graphclient.ViewOptions{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := sim.Occurrences(user, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(truth) || len(evs) < 3 {
		t.Fatalf("calendarView: %d events, the model has %d (want ≥3 to page)", len(evs), len(truth))
	}
	for _, e := range evs {
		if _, err := e.Start.Time(); err != nil || e.ID == "" || e.ShowAs == "" {
			t.Errorf("event %+v: %v", e, err)
		}
	}
	round, err := c.Delta(ctx, user, graphclient.DeltaRequest{Start: from, End: to})
	if err != nil {
		t.Fatal(err)
	}
	if len(round.Events) != len(evs) || round.DeltaLink == "" {
		t.Errorf("first delta round: %d events (calendarView %d), deltaLink %q", len(round.Events), len(evs), round.DeltaLink)
	}
	next, err := c.Delta(ctx, user, graphclient.DeltaRequest{Link: round.DeltaLink})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Events)+len(next.Removed) != 0 {
		t.Errorf("delta without changes: %d events, %d removed", len(next.Events), len(next.Removed))
	}
	if _, err := c.MailboxSettings(ctx, user); err != nil {
		t.Errorf("mailboxSettings: %v", err)
	}
	res, err := c.AutomaticReplies(ctx, []string{user, "nobody@nowhere.example"})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[1].Err == nil {
		t.Errorf("automatic replies: %+v", res)
	}
}
