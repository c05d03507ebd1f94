package ewsexchange_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// Over the wire against the simulator: automatic replies switched on in
// Exchange reach the store through the mail-tip poller alone (no periodic
// OOF refresh, no reconciliation).
func TestAutomaticRepliesFoundByMailTips(t *testing.T) {
	sim, ex := newHTTPSim(t, 6, 1)
	mbs := users(sim)
	st := memstore.New()
	reg := prometheus.NewRegistry()
	r := startEngine(t, ex, st, engine.Pull, mbs, func(o *engine.Options) {
		o.OOFInterval = 0
		o.OOFPollInterval = 100 * time.Millisecond
		o.Registerer = reg
	})
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	target := mbs[2]
	// A change is a difference to what a round saw: wait for one round
	// (one request for six mailboxes) before switching the replies on.
	testenv.WaitFor(t, "a first round of tips", func() bool { return counter(reg, "calsync_engine_oof_tip_requests_total") >= 1 })
	if err := sim.SetOOF(target, ews.OofSettings{State: ews.OofEnabled, InternalReply: "Away until Monday", ExternalAudience: ews.AudienceAll}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, target+"'s automatic replies stored as on", func() bool {
		rec, err := st.Mailbox(context.Background(), target)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
}

// counter reads a counter from reg (0 when absent).
func counter(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// recipient matches one t:Mailbox of a GetMailTips request, in any prefix
// form.
var recipient = regexp.MustCompile(`<(\w+:)?Mailbox[ >]`)

// Over the wire, the poller uses the limit the server reports
// (GetServiceConfiguration), not calsync's fallback of 50: against a
// simulator that allows 7 recipients per GetMailTips, 20 mailboxes are
// polled in requests of 7, 7 and 6, and a change in the last batch is found.
func TestMailTipsPollingUsesTheServersLimit(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Basic: true, Generate: true, Options: ewsmem.Options{Mailboxes: 20, Servers: 1, Seed: 42, MaxMailTipsRecipients: 7}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sizes := map[int]int{} // recipients per GetMailTips → requests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte("GetMailTips>")) {
			mu.Lock()
			sizes[len(recipient.FindAll(body, -1))]++
			mu.Unlock()
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); sim.Close() })
	c, _ := serviceClient(t, sim, srv.URL)
	ex := ewsexchange.NewClient(c, srv.URL+"/autodiscover/autodiscover.svc")
	mbs := users(sim)
	st := memstore.New()
	r := startEngine(t, ex, st, engine.Pull, mbs, func(o *engine.Options) {
		o.OOFInterval = 0
		o.OOFPollInterval = 100 * time.Millisecond
	})
	waitAllLive(t, r.e, len(mbs), 30*time.Second)
	polled := func(n int) bool { mu.Lock(); defer mu.Unlock(); return sizes[7] >= n && sizes[6] >= n }
	testenv.WaitFor(t, "a round of 7+7+6", func() bool { return polled(1) })
	target := mbs[len(mbs)-1] // in the last batch
	if err := sim.SetOOF(target, ews.OofSettings{State: ews.OofEnabled, InternalReply: "Away", ExternalAudience: ews.AudienceAll}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, target+"'s automatic replies stored as on", func() bool {
		rec, err := st.Mailbox(context.Background(), target)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	mu.Lock()
	defer mu.Unlock()
	for n := range sizes {
		if n > 7 {
			t.Errorf("GetMailTips with %d recipients sent (sizes %v); the server allows 7", n, sizes)
		}
	}
}

// Against the simulator: while nobody changes their automatic replies the
// same batch gets byte-identical answers, which OOFTipsSince reports as
// unchanged without tips; replies switched on make the next answer differ
// and come back decoded.
func TestOOFTipsSinceAnswersUnchangedUntilRepliesChange(t *testing.T) {
	sim, ex := newHTTPSim(t, 6, 1)
	mbs := users(sim)
	ctx := context.Background()
	tips, memo, err := ex.OOFTipsSince(ctx, mbs, 0)
	if err != nil || len(tips) != len(mbs) || memo == 0 {
		t.Fatalf("first OOFTipsSince = %d tips, memo %d, %v", len(tips), memo, err)
	}
	for range 2 {
		if again, m, err := ex.OOFTipsSince(ctx, mbs, memo); err != nil || again != nil || m != memo {
			t.Fatalf("OOFTipsSince without a change = %d tips, memo %d, %v; want none, memo %d", len(again), m, err, memo)
		}
	}
	if err := sim.SetOOF(mbs[3], ews.OofSettings{State: ews.OofEnabled, InternalReply: "Away until Monday", ExternalAudience: ews.AudienceAll}); err != nil {
		t.Fatal(err)
	}
	tips, m, err := ex.OOFTipsSince(ctx, mbs, memo)
	if err != nil || len(tips) != len(mbs) || m == memo {
		t.Fatalf("OOFTipsSince after a change = %d tips, memo %d, %v; want all tips, a new memo", len(tips), m, err)
	}
	for i, tip := range tips {
		if on := tip.Fingerprint != ""; on != (i == 3) {
			t.Errorf("%s: tip %q, want replies on only for %s", tip.SMTP, tip.Fingerprint, mbs[3])
		}
	}
}
