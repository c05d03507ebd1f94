package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store/memstore"
)

// releasingExchange gives every CalendarView page a Release that spoils
// the page's occurrences (as an implementation reusing the memory would)
// and counts the calls.
type releasingExchange struct {
	*fakeExchange
	mu              sync.Mutex
	views, releases int
	twice           bool
}

func (x *releasingExchange) CalendarView(ctx context.Context, t Target, start, end time.Time, maxEntries int) (ViewPage, error) {
	page, err := x.fakeExchange.CalendarView(ctx, t, start, end, maxEntries)
	if err != nil {
		return page, err
	}
	x.mu.Lock()
	x.views++
	x.mu.Unlock()
	occs := page.Occurrences
	var once atomic.Bool
	page.Release = func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		if once.Swap(true) {
			x.twice = true
			return
		}
		for i := range occs {
			occs[i] = calendar.Occurrence{ItemID: fmt.Sprint("reused", i), Subject: "reused"}
		}
		x.releases++
	}
	return page, nil
}

func (x *releasingExchange) counts() (views, releases int, twice bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.views, x.releases, x.twice
}

// TestViewPagesAreReleasedOnceAfterTheCommit: the engine releases every
// CalendarView page exactly once and only when its read is done with the
// occurrences — what it stores is what Exchange answered, never memory
// the implementation reused — also when a truncated view is read again
// in halves.
func TestViewPagesAreReleasedOnceAfterTheCommit(t *testing.T) {
	for _, viewMax := range []int{0, 3} {
		t.Run(fmt.Sprint("viewMax=", viewMax), func(t *testing.T) {
			fx := newFakeExchange()
			fx.viewMax = viewMax
			x := &releasingExchange{fakeExchange: fx}
			var occs []calendar.Occurrence
			var want []string
			for i := range 10 {
				occs = append(occs, occ(fmt.Sprintf("i%02d", i), fmt.Sprintf("S%02d", i), 1+i*5))
				want = append(want, fmt.Sprintf("S%02d", i))
			}
			fx.put("alice@example.org", occs...)
			h := start(t, fx, memstore.New(), []string{"alice@example.org"}, func(o *Options) { o.Exchange = x })
			h.waitSubjects("alice@example.org", want...)
			h.waitState("alice@example.org", StateLive)

			occs[3].Subject, want[3] = "changed", "changed"
			fx.put("alice@example.org", occs...)
			if err := h.e.SyncNow(context.Background(), "alice@example.org"); err != nil {
				t.Fatal(err)
			}
			h.waitSubjects("alice@example.org", want...)
			testenv.WaitFor(t, "every page released", func() bool {
				views, releases, _ := x.counts()
				return views == releases
			})
			views, _, twice := x.counts()
			if twice {
				t.Fatal("a page was released twice")
			}
			if viewMax > 0 && views < 8 {
				t.Fatalf("%d CalendarView calls, want the truncated views split (≥ 8 for two reads)", views)
			}
		})
	}
}
