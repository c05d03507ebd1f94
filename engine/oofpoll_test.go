package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// tipExchange adds automatic-replies mail tips (OOFTipReader) to the fake.
type tipExchange struct {
	*fakeExchange
	tmu      sync.Mutex
	limit    int
	tips     map[string]string
	requests int
	largest  int
}

func (x *tipExchange) OOFTipLimit(context.Context) int { return x.limit }

func (x *tipExchange) OOFTips(ctx context.Context, smtps []string) ([]OOFTip, error) {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	x.requests++
	x.largest = max(x.largest, len(smtps))
	out := make([]OOFTip, len(smtps))
	for i, s := range smtps {
		out[i] = OOFTip{SMTP: s, Fingerprint: x.tips[s]}
	}
	return out, nil
}

func (x *tipExchange) counts() (requests, largest int) {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	return x.requests, x.largest
}

// 25 mailboxes, 10 per request: each round is 3 requests, never more than
// the limit per request; a changed tip makes exactly that mailbox read its
// settings (GetUserOofSettings), and only it: the per-mailbox OOFInterval
// refresh is off while tips are polled.
func TestOOFTipsPollManyMailboxesPerRequest(t *testing.T) {
	fx := &tipExchange{fakeExchange: newFakeExchange(), limit: 10, tips: map[string]string{}}
	var mbs []string
	for i := range 25 {
		mbs = append(mbs, fmt.Sprintf("user%02d@example.org", i))
	}
	st := memstore.New()
	h := start(t, fx.fakeExchange, st, mbs, func(o *Options) {
		o.Exchange = fx
		o.OOFPollInterval = 30 * time.Millisecond
		o.OOFInterval = 10 * time.Millisecond // redundant while tips are polled: never used
	})
	for _, m := range mbs {
		h.waitState(m, StateLive)
	}
	testenv.WaitFor(t, "two polling rounds", func() bool { n, _ := fx.counts(); return n >= 6 })
	if _, largest := fx.counts(); largest != 10 {
		t.Errorf("largest request carried %d mailboxes, want the limit of 10", largest)
	}
	reads := map[string]int{}
	for _, m := range mbs {
		reads[m] = fx.countFor("OOF", m)
	}

	fx.mu.Lock()
	fx.oof = calendar.OOFEnabled // what GetUserOofSettings answers from now on
	fx.mu.Unlock()
	fx.tmu.Lock()
	fx.tips["user07@example.org"] = "on||Away"
	fx.tmu.Unlock()
	testenv.WaitFor(t, "user07's automatic replies stored as on", func() bool {
		rec, err := st.Mailbox(context.Background(), "user07@example.org")
		return err == nil && rec.OOF != nil && rec.OOF.State == calendar.OOFEnabled
	})
	for _, m := range mbs {
		want := reads[m]
		if m == "user07@example.org" {
			want++
		}
		if got := fx.countFor("OOF", m); got != want {
			t.Errorf("%s: GetUserOofSettings calls = %d, want %d", m, got, want)
		}
	}
}
