package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// While tips are polled, a first load reads automatic replies only for
// the mailbox whose first tip shows them on; the others store none and
// send no GetUserOofSettings.
func TestFirstLoadReadsOOFOnlyWhereTheTipShowsIt(t *testing.T) {
	const a, b, c = "a@example.org", "b@example.org", "c@example.org"
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 50, tips: map[string]string{b: "on||Away"}}
	fx.oof = calendar.OOFEnabled // only b's tip tells
	st := memstore.New()
	h := start(t, fx.fakeExchange, st, []string{a, b, c}, func(o *Options) {
		o.Exchange = fx
		o.OOFPollInterval = time.Hour
	})
	for _, m := range []string{a, b, c} {
		h.waitState(m, StateLive)
	}
	testenv.WaitFor(t, "b's automatic replies stored as on", func() bool {
		rec, err := st.Mailbox(context.Background(), b)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	if n, _ := fx.counts(); n != 1 {
		t.Errorf("GetMailTips requests = %d, want 1 (three mailboxes, 50 per request)", n)
	}
	for _, m := range []string{a, c} {
		if got := fx.countFor("OOF", m); got != 0 {
			t.Errorf("%s: GetUserOofSettings = %d, want 0 (its tip shows replies off)", m, got)
		}
		if rec, err := st.Mailbox(context.Background(), m); err != nil || rec.OOF != nil {
			t.Errorf("%s: stored settings = %+v, %v; want none", m, rec.OOF, err)
		}
	}
	if got := fx.countFor("OOF", b); got != 1 {
		t.Errorf("b: GetUserOofSettings = %d, want 1", got)
	}
}

// A server that does not answer GetMailTips stops the poller; the loads
// that skipped their settings read them then.
func TestLoadReadsOOFWhenTheServerHasNoMailTips(t *testing.T) {
	const a, b = "a@example.org", "b@example.org"
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 50, tips: map[string]string{}, unsupported: true}
	st := memstore.New()
	h := start(t, fx.fakeExchange, st, []string{a, b}, func(o *Options) {
		o.Exchange = fx
		o.OOFPollInterval = time.Hour
	})
	for _, m := range []string{a, b} {
		h.waitState(m, StateLive)
		testenv.WaitFor(t, m+"'s automatic replies stored", func() bool {
			rec, err := st.Mailbox(context.Background(), m)
			return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFDisabled
		})
	}
}

// A mailbox whose first tip is an error has no baseline and no load-time
// read: its worker reads the settings itself, once, not every round.
func TestFirstTipErrorReadsTheSettingsOnce(t *testing.T) {
	const a, b = "a@example.org", "b@example.org"
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 50, tips: map[string]string{},
		tipErr: map[string]error{a: &ExchangeError{Code: "ErrorMailRecipientNotFound", Err: errors.New("no tip")}}}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	st := memstore.New()
	h := start(t, fx.fakeExchange, st, []string{a, b}, func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = -1
	})
	h.waitState(a, StateLive)
	h.waitState(b, StateLive)
	testenv.WaitFor(t, "a's settings read after its failed first tip", func() bool {
		rec, err := st.Mailbox(context.Background(), a)
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFDisabled
	})
	for range 3 {
		n, _ := fx.counts()
		clk.Advance(time.Minute)
		testenv.WaitFor(t, "a polling round", func() bool { m, _ := fx.counts(); return m > n })
	}
	if got := fx.countFor("OOF", a); got != 1 {
		t.Errorf("a: GetUserOofSettings = %d after 4 rounds with failing tips, want 1", got)
	}
	if got := fx.countFor("OOF", b); got != 0 {
		t.Errorf("b: GetUserOofSettings = %d, want 0", got)
	}
}
