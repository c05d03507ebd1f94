package hybridexchange

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

func occ(id, subject string, h int) calendar.Occurrence {
	start := time.Now().UTC().Truncate(time.Hour).Add(time.Duration(h) * time.Hour)
	return calendar.Occurrence{ItemID: id, Subject: subject, Kind: calendar.KindSingle, Start: start, End: start.Add(30 * time.Minute), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal}
}

type harness struct {
	t      *testing.T
	w      *world
	r      *Router
	e      *engine.Engine
	st     store.Store
	cancel context.CancelFunc
	done   chan error
}

func startHybrid(t *testing.T, w *world, st store.Store, mode engine.Mode, mailboxes []string, opts *Options, tweaks ...func(*engine.Options)) *harness {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	opts.Store = st
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	r := New(&fakeSide{w: w, side: OnPremises}, &fakeSide{w: w, side: Cloud}, opts)
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	eo := engine.Options{
		Store: st, Exchange: r, Mode: mode,
		CoalesceDelay: 5 * time.Millisecond, ReconcileInterval: -1, OOFPollInterval: -1,
		PullInterval: 20 * time.Millisecond, RegroupDelay: 5 * time.Millisecond,
		RetryBase: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, SlowRetry: time.Hour,
		DiscoverBatchDelay: time.Millisecond,
		Budget:             engine.BudgetConfig{RequestsPerSecond: -1, ThrottlePause: 5 * time.Millisecond, CredentialPause: 5 * time.Millisecond},
		Seed:               1,
	}
	for _, tw := range tweaks {
		tw(&eo)
	}
	e, err := engine.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	e.SetMailboxes(mailboxes)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, w: w, r: r, e: e, st: st, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- e.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		h.t.Fatal("engine did not stop")
	}
}

// divergent lists the mailboxes whose stored window differs from the
// world's, or whose side the router names wrongly.
func (h *harness) divergent(mailboxes []string) []string {
	var bad []string
	for _, m := range mailboxes {
		got, err := h.st.Occurrences(context.Background(), m, time.Now().Add(-72*time.Hour), time.Now().Add(30*24*time.Hour))
		if err != nil || key(got) != key(h.w.snapshot(m)) || h.r.HostedOn(m) != h.w.host(m) {
			bad = append(bad, m)
		}
	}
	return bad
}

func key(occs []calendar.Occurrence) string {
	var s []string
	for _, o := range occs {
		s = append(s, o.Subject+"@"+o.Start.UTC().Format(time.RFC3339))
	}
	sort.Strings(s)
	return fmt.Sprint(s)
}

func (h *harness) waitConverged(mailboxes []string) {
	h.t.Helper()
	deadline := time.Now().Add(testenv.WaitTimeout)
	for len(h.divergent(mailboxes)) > 0 {
		if time.Now().After(deadline) {
			for _, m := range h.divergent(mailboxes) {
				st, _ := h.e.Status(m)
				got, _ := h.st.Occurrences(context.Background(), m, time.Now().Add(-72*time.Hour), time.Now().Add(30*24*time.Hour))
				h.t.Errorf("%s diverges: world %s on %q, stored %s, router says %q; status %+v, error %+v", m, key(h.w.snapshot(m)), h.w.host(m), key(got), h.r.HostedOn(m), st, st.LastError)
			}
			h.t.FailNow()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// trusted is what app's presence source decides: the live status over the
// stored record.
func (h *harness) trusted(smtp string) (bool, string) {
	rec, err := h.st.Mailbox(context.Background(), smtp)
	if err != nil {
		return false, err.Error()
	}
	if live, err := h.e.Status(smtp); err == nil {
		rec.Status = live
	}
	return presence.DefaultTrusted(rec), fmt.Sprintf("state %s, failures %d, error %+v", rec.Status.State, rec.Status.ConsecutiveFailures, rec.Status.LastError)
}

// Mailboxes move both ways under churn, in both engine modes: afterwards
// no mailbox diverges and each is served by its side; throughout, every
// mailbox's data stays trusted (presence is never "unknown" because of a
// move).
func TestMovesBothWaysUnderChurn(t *testing.T) {
	for _, mode := range []engine.Mode{engine.Streaming, engine.Pull} {
		t.Run(string(mode), func(t *testing.T) {
			w := newWorld()
			var mailboxes []string
			for i := range 12 {
				m := fmt.Sprintf("user%02d@example.org", i)
				side := OnPremises
				if i%2 == 1 {
					side = Cloud
				}
				w.put(m, side, occ(m+"-1", "first "+m, 1+i%5))
				mailboxes = append(mailboxes, m)
			}
			h := startHybrid(t, w, memstore.New(), mode, mailboxes, nil)
			testenv.WaitFor(t, "every mailbox loaded on its side", func() bool { return len(h.divergent(mailboxes)) == 0 })

			var untrusted atomic.Value
			stop := make(chan struct{})
			var watch sync.WaitGroup
			watch.Add(1)
			go func() {
				defer watch.Done()
				for {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
					for _, m := range mailboxes {
						if ok, why := h.trusted(m); !ok && untrusted.Load() == nil {
							untrusted.Store(m + ": " + why)
						}
					}
				}
			}()

			rng := rand.New(rand.NewPCG(7, uint64(len(mode))))
			moves := 0
			for step := range 60 {
				m := mailboxes[rng.IntN(len(mailboxes))]
				if step%6 == 5 && w.host(m) != "" {
					to := w.host(m).other()
					was := w.refusals(m)
					w.startMove(m)
					// The move lasts until calsync was refused several times
					// (more than the 5 consecutive failures that would make
					// its data untrusted), or for a few of churn's steps.
					if step%12 == 5 {
						testenv.WaitFor(t, m+" refused 8 times while moving", func() bool { return w.refusals(m) >= was+8 })
					}
					w.endMove(m, to)
					moves++
					continue
				}
				if w.host(m) == "" {
					continue
				}
				w.put(m, w.host(m), occ(fmt.Sprintf("%s-%d", m, step), fmt.Sprintf("change %d", step), 1+rng.IntN(48)))
			}
			h.waitConverged(mailboxes)
			close(stop)
			watch.Wait()
			if v := untrusted.Load(); v != nil {
				t.Errorf("a mailbox's data was untrusted during the churn: %s", v)
			}
			if moves < 5 {
				t.Fatalf("only %d moves made", moves)
			}
			t.Logf("%d moves, 0 divergent mailboxes", moves)
		})
	}
}

// A mailbox neither side serves ends denied with one precise per-mailbox
// error and is not asked about again and again; the others sync.
func TestNeitherSideServesTheMailbox(t *testing.T) {
	w := newWorld()
	w.put("here@example.org", OnPremises, occ("h1", "here", 1))
	w.put("cloud@example.org", Cloud, occ("c1", "cloud", 2))
	w.put("ghost@example.org", "")
	mailboxes := []string{"cloud@example.org", "ghost@example.org", "here@example.org"}
	h := startHybrid(t, w, memstore.New(), engine.Pull, mailboxes, nil)
	testenv.WaitFor(t, "ghost denied", func() bool {
		st, err := h.e.Status("ghost@example.org")
		return err == nil && st.State == engine.StateDenied
	})
	st, _ := h.e.Status("ghost@example.org")
	if st.LastError == nil || st.LastError.Code != CodeNotFound {
		t.Fatalf("ghost's last error = %+v, want %s", st.LastError, CodeNotFound)
	}
	asked := w.count(OnPremises, "OOF", "ghost@example.org") + w.count(Cloud, "OOF", "ghost@example.org")
	polls := w.count(Cloud, "GetEvents", "cloud@example.org")
	testenv.WaitFor(t, "the others poll ten more times", func() bool { return w.count(Cloud, "GetEvents", "cloud@example.org") >= polls+10 })
	if n := w.count(OnPremises, "OOF", "ghost@example.org") + w.count(Cloud, "OOF", "ghost@example.org"); n != asked {
		t.Errorf("ghost asked about %d times, then %d: a denied mailbox waits for SlowRetry", asked, n)
	}
	if bad := h.divergent([]string{"cloud@example.org", "here@example.org"}); len(bad) > 0 {
		t.Errorf("divergent: %v", bad)
	}
}

// Decisions are kept in the store: a restart asks neither side about a
// decided mailbox; the directory's hint decides without asking too.
func TestDecisionsSurviveARestartAndHintsDecide(t *testing.T) {
	w := newWorld()
	st := memstore.New()
	w.put("a@example.org", OnPremises, occ("a1", "a", 1))
	w.put("b@example.org", Cloud, occ("b1", "b", 2))
	mailboxes := []string{"a@example.org", "b@example.org"}
	h := startHybrid(t, w, st, engine.Pull, mailboxes, nil)
	testenv.WaitFor(t, "loaded", func() bool { return len(h.divergent(mailboxes)) == 0 })
	h.stop()

	// Only a probe asks the side a mailbox does not live on.
	probes := func() int {
		return w.count(Cloud, "Discover", "a@example.org") + w.count(OnPremises, "Discover", "b@example.org") + w.count(OnPremises, "Discover", "c@example.org")
	}
	before := probes()
	w.put("c@example.org", Cloud, occ("c1", "c", 3))
	hint := func(smtp string) Side {
		if smtp == "c@example.org" {
			return Cloud // msExchRecipientTypeDetails RemoteUserMailbox
		}
		return ""
	}
	all := append(mailboxes, "c@example.org")
	h2 := startHybrid(t, w, st, engine.Pull, all, &Options{Hint: hint})
	testenv.WaitFor(t, "loaded after the restart", func() bool { return len(h2.divergent(all)) == 0 })
	if after := probes(); after != before {
		t.Errorf("mailboxes asked about after the restart: %d requests, want 0", after-before)
	}
}

// A wrong hint is corrected by the side's refusal.
func TestWrongHintIsCorrected(t *testing.T) {
	w := newWorld()
	w.put("d@example.org", Cloud, occ("d1", "d", 1))
	hint := func(string) Side { return OnPremises }
	h := startHybrid(t, w, memstore.New(), engine.Streaming, []string{"d@example.org"}, &Options{Hint: hint})
	testenv.WaitFor(t, "loaded from the cloud", func() bool { return len(h.divergent([]string{"d@example.org"})) == 0 })
}

// Automatic-reply tips: each mailbox asked on its side, in each side's
// batch size, answers in order.
func TestOOFTipsSplitBySide(t *testing.T) {
	w := newWorld()
	var all []string
	for i := range 11 {
		m := fmt.Sprintf("t%02d@example.org", i)
		side := OnPremises
		if i%3 == 0 {
			side = Cloud
		}
		w.put(m, side)
		all = append(all, m)
	}
	r := New(&fakeSide{w: w, side: OnPremises}, &fakeSide{w: w, side: Cloud}, nil)
	if _, err := r.Discover(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	if got := r.OOFTipLimit(context.Background()); got != 5 {
		t.Errorf("OOFTipLimit = %d, want the EWS side's 5", got)
	}
	tips, err := r.OOFTips(context.Background(), all[:5])
	if err != nil {
		t.Fatal(err)
	}
	for i, tip := range tips {
		if tip.SMTP != all[i] || tip.Err != nil {
			t.Errorf("tip %d = %+v, want %s without error", i, tip, all[i])
		}
	}
}

// refusing is a side whose every OOF (the probe's question) fails with err.
type refusing struct {
	engine.Exchange
	err error
}

func (r refusing) OOF(context.Context, engine.Target) (calendar.OOFSettings, error) {
	return calendar.OOFSettings{}, r.err
}

// Whatever Graph says of a mailbox Exchange Server serves (not here, no
// permission, bad credentials, passing trouble), the mailbox is placed on
// premises: a Graph misconfiguration does not stop the EWS mailboxes. A
// mailbox EWS does not serve either stays undecided with Graph's passing
// trouble (retried), and is HybridMailboxNotFound when Graph refused it.
func TestProbeDecides(t *testing.T) {
	for _, tc := range []struct {
		code    string
		nowhere string // the code for a mailbox EWS does not serve either
	}{
		{"MailboxNotEnabledForRESTAPI", CodeNotFound},
		{"GraphAccessDenied", "GraphAccessDenied"},
		{"HTTP401", "HTTP401"},
		{"NetworkError", "NetworkError"},
		{"ApplicationThrottled", "ApplicationThrottled"},
		{"HTTP503", "HTTP503"},
	} {
		w := newWorld()
		w.put("a@x", OnPremises)
		w.put("ghost@x", "")
		r := New(&fakeSide{w: w, side: OnPremises}, refusing{&fakeSide{w: w, side: Cloud}, &engine.ExchangeError{Code: tc.code}}, nil)
		res, err := r.Discover(context.Background(), []string{"a@x", "ghost@x"})
		if err != nil {
			t.Fatal(err)
		}
		if side, ok := r.SideOf("a@x"); side != OnPremises || !ok || res[0].Err != nil {
			t.Errorf("Graph %s, EWS serves: side %q %v, err %v; want on premises", tc.code, side, ok, res[0].Err)
		}
		if _, ok := r.SideOf("ghost@x"); ok || engine.ErrorCode(res[1].Err) != tc.nowhere {
			t.Errorf("Graph %s, EWS refuses: decided %v, code %q; want undecided with %s", tc.code, ok, engine.ErrorCode(res[1].Err), tc.nowhere)
		}
	}
}
