package graphexchange_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/graphexchange"
	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/graph/graphclient"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// divergent names the mailboxes whose stored window differs from the
// fake Graph's events (id, subject, start, end).
func divergent(t *testing.T, f *fakeGraph, st *memstore.Store, mailboxes []string) []string {
	var out []string
	for _, m := range mailboxes {
		rec, err := st.Mailbox(context.Background(), m)
		if err != nil || rec.Checkpoint.Window.IsZero() {
			out = append(out, m+": not loaded")
			continue
		}
		w := rec.Checkpoint.Window
		var want, got []string
		for _, e := range f.truth(m, w.Start, w.End) {
			want = append(want, fmt.Sprintf("%s|%s|%s|%s", e.ID, e.Subject, e.Start.UTC().Format(time.RFC3339), e.End.UTC().Format(time.RFC3339)))
		}
		stored, _ := st.Occurrences(context.Background(), m, w.Start, w.End)
		for _, o := range stored {
			got = append(got, fmt.Sprintf("%s|%s|%s|%s", o.ItemID, o.Subject, o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339)))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			out = append(out, fmt.Sprintf("%s: stored %v, Graph has %v", m, got, want))
		}
	}
	return out
}

// The engine syncs cloud mailboxes through graphexchange: initial load by
// calendarView, changes by delta polling, a lost delta token by a new
// round and a full read; an on-premises mailbox is reported, not retried
// in a loop.
func TestEngineSyncsMailboxesOverGraph(t *testing.T) {
	f := newFakeGraph(t)
	mailboxes := []string{"ada@cloud.example", "bob@cloud.example", "cy@cloud.example"}
	now := time.Now().UTC().Truncate(time.Hour)
	for i, m := range mailboxes {
		f.add(m, false)
		for j := range 5 {
			f.put(m, fakeEvent{ID: fmt.Sprintf("%s-e%d", m[:3], j), Subject: fmt.Sprintf("meeting %d", j), ShowAs: "busy",
				Start: now.Add(time.Duration(i+j*5) * time.Hour), End: now.Add(time.Duration(i+j*5+1) * time.Hour)})
		}
	}
	f.add("onprem@corp.example", true)

	ts, err := graphclient.NewTokenSource(graphclient.Credentials{TenantID: "tenant", ClientID: "app", ClientSecret: "secret", LoginURL: f.srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := graphclient.New(ts, &graphclient.Options{GraphURL: f.srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	e := graphtest.StartPull(t, graphexchange.New(gc, nil), st, append(slices.Clone(mailboxes), "onprem@corp.example"))

	converged := func(what string) {
		t.Helper()
		var last []string
		testenv.WaitFor(t, what, func() bool {
			last = divergent(t, f, st, mailboxes)
			return len(last) == 0
		})
	}
	converged("the initial load of 3 cloud mailboxes")

	f.put("ada@cloud.example", fakeEvent{ID: "ada-e1", Subject: "moved", ShowAs: "oof", Start: now.Add(30 * time.Hour), End: now.Add(31 * time.Hour)})
	f.put("bob@cloud.example", fakeEvent{ID: "bob-new", Subject: "new", ShowAs: "busy", Start: now.Add(2 * time.Hour), End: now.Add(3 * time.Hour)})
	f.remove("cy@cloud.example", "cy@-e0")
	f.remove("cy@cloud.example", "cy@-e2")
	converged("changes seen by delta polling")

	f.expireTokens("ada@cloud.example")
	f.put("ada@cloud.example", fakeEvent{ID: "ada-after", Subject: "after the token expired", ShowAs: "busy", Start: now.Add(4 * time.Hour), End: now.Add(5 * time.Hour)})
	converged("a full read after SyncStateNotFound")

	testenv.WaitFor(t, "the on-premises mailbox reported as not on Graph", func() bool {
		s, err := e.Status("onprem@corp.example")
		return err == nil && s.State == engine.StateDenied && s.LastError != nil && s.LastError.Code == graphexchange.CodeNotOnGraph
	})
}

func TestOOFTipsInOneBatch(t *testing.T) {
	f := newFakeGraph(t)
	f.add("ada@cloud.example", false)
	f.add("bob@cloud.example", false)
	f.add("onprem@corp.example", true)
	f.mu.Lock()
	f.mbx["bob@cloud.example"].oof = "AlwaysEnabled"
	f.mu.Unlock()
	ts, _ := graphclient.NewTokenSource(graphclient.Credentials{TenantID: "tenant", ClientID: "app", ClientSecret: "secret", LoginURL: f.srv.URL}, nil)
	gc, _ := graphclient.New(ts, &graphclient.Options{GraphURL: f.srv.URL + "/v1.0"})
	x := graphexchange.New(gc, nil)
	tips, err := x.OOFTips(context.Background(), []string{"ada@cloud.example", "bob@cloud.example", "onprem@corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if tips[0].Fingerprint != "" || tips[0].Err != nil || tips[1].Fingerprint == "" || engine.ErrorCode(tips[2].Err) != graphexchange.CodeNotOnGraph {
		t.Errorf("tips = %+v", tips)
	}
	zone, err := x.MailboxTimeZone(context.Background(), engine.Target{SMTP: "ada@cloud.example"})
	if err != nil || zone != "Europe/Berlin" {
		t.Errorf("zone = %q, %v", zone, err)
	}
}
