package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// batchZoneExchange reads zones in batches (ZoneBatchReader, the working
// hours) and alone (ZoneReader, OWA.UserOptions: zoneExchange.zones).
type batchZoneExchange struct {
	*zoneExchange
	bmu       sync.Mutex
	hours     map[string]string // mailbox → zone of its working hours ("" = none)
	mbxErr    map[string]error  // a mailbox's own error in the batch
	callErr   error             // the whole batch fails
	maxPerReq int               // more → ErrorMailboxDataArrayTooBig (0 = 100)
	batches   [][]string
}

func newBatchZoneExchange() *batchZoneExchange {
	return &batchZoneExchange{zoneExchange: &zoneExchange{fakeExchange: newFakeExchange(), zones: map[string]string{}},
		hours: map[string]string{}, mbxErr: map[string]error{}}
}

func (z *batchZoneExchange) MailboxTimeZones(ctx context.Context, smtps []string) ([]ZoneResult, error) {
	if err := z.enter("MailboxTimeZones", smtps[0]); err != nil {
		return nil, err
	}
	defer z.leave()
	z.bmu.Lock()
	defer z.bmu.Unlock()
	z.batches = append(z.batches, slices.Clone(smtps))
	if z.callErr != nil {
		return nil, z.callErr
	}
	if limit := cmpOr(z.maxPerReq, maxZoneBatch); len(smtps) > limit {
		return nil, &ExchangeError{Code: "ErrorMailboxDataArrayTooBig", Err: errors.New("too many mailboxes")}
	}
	out := make([]ZoneResult, len(smtps))
	for i, s := range smtps {
		out[i] = ZoneResult{SMTP: s, Zone: z.hours[s], Err: z.mbxErr[s]}
	}
	return out, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// batchSizes returns the number of mailboxes of each batch so far.
func (z *batchZoneExchange) batchSizes() []int {
	z.bmu.Lock()
	defer z.bmu.Unlock()
	var out []int
	for _, b := range z.batches {
		out = append(out, len(b))
	}
	return out
}

// queued is how many mailboxes wait for their batch to leave.
func (b *zoneBatcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.order)
}

// queued is how many mailboxes wait for their Autodiscover batch.
func (d *discoverer) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.urgent) + len(d.order)
}

func mailboxNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%03d@example.org", i)
	}
	return out
}

// 250 mailboxes in New York (every fifth in Tokyo, every fifth in Berlin)
// served by an instance whose default zone is Europe/Berlin, on the
// injected clock: the first
// load asks their zones in three GetUserAvailability batches (100, 100 and
// the last 50 once no mailbox joined for DiscoverBatchDelay), reads no
// OWA.UserOptions per mailbox, and every mailbox's first presence is on
// its own clock: "Busy until 15:00" in New York, never Berlin's 21:00; the
// Berliners' working-hours zone (matched as Europe/Budapest) is named as
// the instance's default, whose offsets it has.
func TestFirstLoadReadsZonesInBatchesOfAHundred(t *testing.T) {
	now := time.Date(2026, 3, 2, 19, 30, 0, 0, time.UTC) // Mon 14:30 EST, 20:30 in Berlin, 04:30 Tue in Tokyo
	fx := newBatchZoneExchange()
	users := mailboxNames(250)
	zoneOf := map[string]string{}
	for i, u := range users {
		zoneOf[u] = "America/New_York"
		fx.hours[u] = zoneOf[u]
		switch i % 5 {
		case 0:
			zoneOf[u], fx.hours[u] = "Asia/Tokyo", "Asia/Tokyo"
		case 3:
			// Berlin's working hours match Europe/Budapest first (same
			// offsets all year); the instance's default names the place.
			zoneOf[u], fx.hours[u] = "Europe/Berlin", "Europe/Budapest"
		}
		fx.zones[u] = zoneOf[u] // OWA.UserOptions agrees; it must not be read at load
		start := time.Date(2026, 3, 2, 19, 0, 0, 0, time.UTC)
		fx.items[u] = []calendar.Occurrence{{ItemID: "m-" + u, Subject: "Review", Kind: calendar.KindSingle,
			Start: start, End: start.Add(time.Hour), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal}}
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := presence.CompileRuleSet(presence.RuleSet{Options: presence.Options{TimeZone: "Europe/Berlin"}})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(now)
	st := memstore.New()
	src := &presence.StoreSource{Store: st, DefaultZone: "Europe/Berlin"}
	var (
		fmu   sync.Mutex
		first = map[string]string{} // mailbox → its first presence that is not pending
	)
	observe := func(smtp string) {
		in, err := src.Load(context.Background(), smtp, now.Add(-24*time.Hour), now.Add(24*time.Hour))
		if err != nil || in.Pending {
			return
		}
		p := presence.Evaluate(in, rules, now)
		fmu.Lock()
		defer fmu.Unlock()
		if _, ok := first[smtp]; !ok {
			first[smtp] = fmt.Sprintf("%s %q %s", p.Availability, p.StatusText, p.TimeZone)
		}
	}
	h := start(t, fx.fakeExchange, st, users, func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = 50 * time.Millisecond
		o.Window = WindowConfig{DaysBefore: 1, DaysAfter: 14, DefaultTimeZone: berlin}
		o.Sink = SinkFuncs{Calendar: observe, Status: func(st store.MailboxStatus) { observe(st.SMTP) }}
	})
	z := h.e.env.zones
	// Every mailbox joins its zone batch and queues its Autodiscover
	// lookup when it starts (the restoring gate admits them all within
	// moments); the rest of the load goes as fast as the step gate admits
	// them (admit.go).
	testenv.WaitFor(t, "two full batches out, the last 50 mailboxes waiting for theirs and every mailbox for Autodiscover", func() bool {
		return len(fx.batchSizes()) == 2 && z.queued() == 50 && h.e.disco.queued() == len(users)
	})
	// Autodiscover waits on the same delay; no mailbox joins any more, so
	// the rest leaves after it. Mailboxes admitted later wait for their
	// own Autodiscover batch.
	testenv.WaitFor(t, "every mailbox live", func() bool {
		clk.Advance(50 * time.Millisecond)
		return h.e.StateCounts()[StateLive] == len(users)
	})
	if got := fx.batchSizes(); !slices.Equal(got, []int{100, 100, 50}) {
		t.Errorf("GetUserAvailability batches = %v, want [100 100 50]", got)
	}
	if got := fx.count("MailboxTimeZone"); got != 0 {
		t.Errorf("OWA.UserOptions read %d times at the first load, want 0", got)
	}
	testenv.WaitFor(t, "every mailbox's first presence", func() bool {
		fmu.Lock()
		defer fmu.Unlock()
		return len(first) == len(users)
	})
	fmu.Lock()
	defer fmu.Unlock()
	for _, u := range users {
		want := map[string]string{
			"America/New_York": `busy "Busy until 15:00" America/New_York`,
			"Asia/Tokyo":       `busy "Busy until 05:00" Asia/Tokyo`,
			"Europe/Berlin":    `busy "Busy until 21:00" Europe/Berlin`,
		}[zoneOf[u]]
		if first[u] != want {
			t.Fatalf("%s: first presence = %s, want %s", u, first[u], want)
		}
		if s, _ := h.e.Status(u); s.TimeZone != zoneOf[u] {
			t.Fatalf("%s: status zone = %q, want %s", u, s.TimeZone, zoneOf[u])
		}
	}
}

// What a batch cannot answer for a mailbox its worker reads alone
// (OWA.UserOptions, as every first load did before): a mailbox's own
// error, no working hours, a whole batch failing, the server refusing the
// size (the batch is asked again, halved) or not answering the operation
// at all (later first loads read alone without asking).
func TestZoneBatchFailuresFallBackToReadingAlone(t *testing.T) {
	const ny = "America/New_York"
	setup := func(n int) (*batchZoneExchange, []string) {
		fx := newBatchZoneExchange()
		users := mailboxNames(n)
		for _, u := range users {
			fx.hours[u], fx.zones[u] = ny, ny
		}
		return fx, users
	}
	run := func(t *testing.T, fx *batchZoneExchange, users []string) *harness {
		t.Helper()
		h := start(t, fx.fakeExchange, memstore.New(), users, func(o *Options) {
			o.Exchange = fx
			o.Mode = Pull
			o.PullInterval = time.Hour
			// Long enough for a start's mailboxes to join one batch.
			o.DiscoverBatchDelay = 300 * time.Millisecond
		})
		for _, u := range users {
			h.waitState(u, StateLive)
			if s, _ := h.e.Status(u); s.TimeZone != ny {
				t.Fatalf("%s: zone = %q, want %s", u, s.TimeZone, ny)
			}
		}
		return h
	}
	readAlone := func(fx *batchZoneExchange, users []string) []string {
		var out []string
		for _, u := range users {
			if fx.countFor("MailboxTimeZone", u) > 0 {
				out = append(out, u)
			}
		}
		return out
	}

	t.Run("a mailbox's own error or no working hours", func(t *testing.T) {
		fx, users := setup(5)
		fx.mbxErr[users[1]] = &ExchangeError{Code: "ErrorNoFreeBusyAccess", Err: errors.New("no access")}
		fx.hours[users[3]] = ""
		fx.zones[users[3]] = ny
		run(t, fx, users)
		if got, want := readAlone(fx, users), []string{users[1], users[3]}; !slices.Equal(got, want) {
			t.Errorf("read alone: %v, want %v", got, want)
		}
	})
	t.Run("the whole batch fails", func(t *testing.T) {
		fx, users := setup(5)
		fx.callErr = &ExchangeError{Code: "NetworkError", Err: errors.New("connection reset")}
		run(t, fx, users)
		if got := readAlone(fx, users); !slices.Equal(got, users) {
			t.Errorf("read alone: %v, want all of %v", got, users)
		}
	})
	t.Run("the server allows fewer mailboxes per request", func(t *testing.T) {
		fx, users := setup(100)
		fx.maxPerReq = 60
		h := run(t, fx, users)
		// However the start split them, one batch beyond 60 was refused and
		// none after it: the rest went out in halves, nobody read alone.
		sizes := fx.batchSizes()
		t.Logf("batches: %v", sizes)
		refused := 0
		for _, n := range sizes {
			if n > 60 {
				refused++
			}
		}
		if refused > 1 {
			t.Errorf("batches %v: %d refused, want at most 1", sizes, refused)
		}
		if got := readAlone(fx, users); len(got) != 0 {
			t.Errorf("read alone: %v, want none", got)
		}
		h.e.env.zones.mu.Lock()
		limit := h.e.env.zones.limit
		h.e.env.zones.mu.Unlock()
		if refused == 1 && limit > 50 {
			t.Errorf("mailboxes per request after the refusal = %d, want at most half", limit)
		}
	})
	t.Run("the server does not answer the operation", func(t *testing.T) {
		fx, users := setup(5)
		fx.callErr = &ExchangeError{Code: "ErrorInvalidOperation", Err: errors.New("not supported")}
		h := run(t, fx, users)
		if got := readAlone(fx, users); !slices.Equal(got, users) {
			t.Errorf("read alone: %v, want all of %v", got, users)
		}
		asked := len(fx.batchSizes())
		const late = "late@example.org"
		fx.setZone(late, ny)
		h.e.Add(late)
		h.waitState(late, StateLive)
		if got := len(fx.batchSizes()); got != asked {
			t.Errorf("a later first load asked a batch (%d → %d) after the server refused the operation", asked, got)
		}
		if fx.countFor("MailboxTimeZone", late) != 1 {
			t.Errorf("the later mailbox read its zone %d times alone, want 1", fx.countFor("MailboxTimeZone", late))
		}
	})
}

// The reconciliation reads OWA.UserOptions, the user's chosen zone, and no
// batch: where it differs from the working hours' zone learnt at the first
// load, it wins.
func TestReconciliationReadsUserOptionsAfterABatchedLoad(t *testing.T) {
	const u = "toronto@example.org"
	fx := newBatchZoneExchange()
	fx.hours[u] = "America/New_York" // the working hours' zone: same offsets
	fx.zones[u] = "America/Toronto"  // the regional settings the user chose
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	h := start(t, fx.fakeExchange, memstore.New(), []string{u}, func(o *Options) {
		o.Exchange = fx
		o.Clock = clk
		o.Mode = Pull
		o.PullInterval = 24 * time.Hour
		o.DiscoverBatchDelay = -1
		o.ReconcileInterval = time.Hour
	})
	h.waitState(u, StateLive)
	zone := func() string { s, _ := h.e.Status(u); return s.TimeZone }
	if zone() != "America/New_York" || fx.count("MailboxTimeZone") != 0 || len(fx.batchSizes()) != 1 {
		t.Fatalf("after the first load: zone %q, OWA.UserOptions reads %d, batches %v", zone(), fx.count("MailboxTimeZone"), fx.batchSizes())
	}
	// The first reconciliation falls within one interval.
	testenv.WaitFor(t, "the reconciliation timer", func() bool { return clk.PendingTimers() > 0 })
	clk.Advance(time.Hour + time.Minute)
	testenv.WaitFor(t, "the chosen zone at reconciliation", func() bool { return zone() == "America/Toronto" })
	if got := fx.countFor("MailboxTimeZone", u); got != 1 {
		t.Errorf("OWA.UserOptions read %d times at reconciliation, want 1", got)
	}
	if got := len(fx.batchSizes()); got != 1 {
		t.Errorf("batches after reconciliation = %d, want still 1", got)
	}
}
