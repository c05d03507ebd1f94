package hybridexchange_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/engine/ewsexchange"
	"github.com/calsync/calsync/engine/graphexchange/graphtest"
	"github.com/calsync/calsync/engine/hybridexchange"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// hosting says which mailboxes live in the cloud; moving one flips it.
// The Graph face reads it through graphserver.Hosting; the EWS side is
// wrapped so that a cloud mailbox answers as Exchange Server answers a
// RemoteUserMailbox (ErrorNonExistentMailbox).
type hosting struct {
	mu    sync.Mutex
	cloud map[string]bool
}

func (h *hosting) InCloud(smtp string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cloud[strings.ToLower(smtp)]
}

func (h *hosting) move(smtp string, toCloud bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cloud[strings.ToLower(smtp)] = toCloud
}

// cloudModel is the simulator with hosting, for the Graph face.
type cloudModel struct {
	*ewssim.Simulator
	*hosting
}

// onPremOnly answers for cloud mailboxes as Exchange Server does after the
// move: no such mailbox.
type onPremOnly struct {
	engine.Exchange
	h *hosting
}

// exchangeNoMailboxText is Exchange's own MessageText for a mailbox that is
// not on this side (capitalized and with its full stop, as Exchange sends it).
const exchangeNoMailboxText = "No mailbox with such guid."

func (o onPremOnly) gone(smtp string) error {
	if o.h.InCloud(smtp) {
		return &engine.ExchangeError{Code: "ErrorNonExistentMailbox", Err: errors.New(exchangeNoMailboxText)}
	}
	return nil
}

func (o onPremOnly) Discover(ctx context.Context, smtps []string) ([]engine.DiscoverResult, error) {
	res, err := o.Exchange.Discover(ctx, smtps)
	for i := range res {
		if e := o.gone(smtps[i]); e != nil && err == nil {
			res[i].Err = e
		}
	}
	return res, err
}

func (o onPremOnly) CalendarView(ctx context.Context, t engine.Target, s, e time.Time, n int) (engine.ViewPage, error) {
	if err := o.gone(t.SMTP); err != nil {
		return engine.ViewPage{}, err
	}
	return o.Exchange.CalendarView(ctx, t, s, e, n)
}

func (o onPremOnly) OOF(ctx context.Context, t engine.Target) (calendar.OOFSettings, error) {
	if err := o.gone(t.SMTP); err != nil {
		return calendar.OOFSettings{}, err
	}
	return o.Exchange.OOF(ctx, t)
}

func (o onPremOnly) Subscribe(ctx context.Context, t engine.Target, r engine.SubscribeRequest) (engine.Subscription, error) {
	if err := o.gone(t.SMTP); err != nil {
		return engine.Subscription{}, err
	}
	return o.Exchange.Subscribe(ctx, t, r)
}

func (o onPremOnly) GetEvents(ctx context.Context, t engine.Target, id, wm string) (engine.EventBatch, error) {
	if err := o.gone(t.SMTP); err != nil {
		return engine.EventBatch{}, err
	}
	return o.Exchange.GetEvents(ctx, t, id, wm)
}

// Mailboxes in both places sync, each from its side; two move (one each
// way) and are read again on their new side: 0 divergent mailboxes, each
// served from where it lives.
func TestHybridMailboxesFollowTheirMoves(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Mailboxes: 6, Seed: 5}, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	mailboxes := graphtest.Users(sim)
	h := &hosting{cloud: map[string]bool{}}
	for _, m := range mailboxes[3:] {
		h.move(m, true)
	}
	cloud := graphtest.Graph(t, cloudModel{sim, h})
	router := hybridexchange.New(onPremOnly{ewsexchange.NewInProcess(sim, sim.ServiceAccount(), "https://sim.example.com"), h}, cloud, nil)

	st := memstore.New()
	e := graphtest.StartPull(t, router, st, mailboxes)

	var last []string
	defer func() {
		if t.Failed() {
			t.Logf("divergent: %v", last)
		}
	}()
	divergent := func() []string {
		out := graphtest.Divergent(t, sim, st, mailboxes)
		for _, m := range mailboxes {
			if s, _ := router.SideOf(m); (s == hybridexchange.Cloud) != h.InCloud(m) {
				out = append(out, fmt.Sprintf("%s: served from %q", m, s))
			}
		}
		return out
	}
	testenv.WaitForWithin(t, time.Minute, "3 on-premises and 3 cloud mailboxes synced from their sides", func() bool { last = divergent(); return len(last) == 0 })

	h.move(mailboxes[0], true)  // to the cloud
	h.move(mailboxes[5], false) // back on-premises
	testenv.WaitForWithin(t, time.Minute, "both moves noticed and regrouped", func() bool {
		s0, err0 := e.Status(mailboxes[0])
		s5, err5 := e.Status(mailboxes[5])
		return err0 == nil && err5 == nil && strings.HasPrefix(s0.Group, "exchange_online:") && strings.HasPrefix(s5.Group, "exchange:")
	})
	// Changes after the move can only be seen on the new side.
	now := time.Now().UTC().Truncate(time.Minute)
	for _, m := range []string{mailboxes[0], mailboxes[5]} {
		if _, err := sim.AddCalendarItem(m, ews.CalendarItem{Subject: "after the move", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour),
			LegacyFreeBusyStatus: ews.FreeBusyBusy}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitForWithin(t, time.Minute, "both moved mailboxes synced on their new side", func() bool { last = divergent(); return len(last) == 0 })
}
