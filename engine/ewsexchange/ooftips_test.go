package ewsexchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
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
