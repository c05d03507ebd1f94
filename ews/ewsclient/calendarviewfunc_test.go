package ewsclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// viewAnswers serves CalendarView answers: the n-th request (from 0) gets
// answers[n % len(answers)]; a nil answer is an ErrorServerBusy fault.
func viewAnswers(t testing.TB, answers ...[]ews.CalendarItem) *ewsclient.Client {
	t.Helper()
	bodies := make([][]byte, len(answers))
	for i, items := range answers {
		if items == nil {
			continue
		}
		r := &ewswire.FindItemResponse{}
		r.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: ewswire.Success(),
			RootFolder: &ewswire.FindItemRootFolder{TotalItemsInView: len(items), IncludesLastItemInRange: true, Items: *ewswire.ItemsOf(items)}}}
		var err error
		if bodies[i], err = ewswire.Marshal(&ewswire.Header{ServerVersionInfo: &ewswire.ServerVersionInfo{MajorVersion: 15, MinorVersion: 20}}, r); err != nil {
			t.Fatal(err)
		}
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := bodies[int(n.Add(1)-1)%len(bodies)]
		w.Header()["Content-Type"] = []string{"text/xml; charset=utf-8"}
		if body == nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = ewswire.EncodeFault(w, ewswire.NewFault(ews.ErrorServerBusy, "busy", nil))
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func itemsFrom(first, n int) []ews.CalendarItem {
	items := make([]ews.CalendarItem, n)
	for i := range items {
		items[i] = sampleItem(first + i)
	}
	return items
}

// TestCalendarViewFuncMatchesCalendarView: CalendarViewFunc hands fn the
// page CalendarView returns, answer after answer through the reused item
// buffer (a long answer, then shorter ones, then one larger than the
// buffer kept); the strings fn kept from earlier pages stay as they were;
// a failed call does not call fn and the next call works.
func TestCalendarViewFuncMatchesCalendarView(t *testing.T) {
	answers := [][]ews.CalendarItem{itemsFrom(0, 40), itemsFrom(100, 3), nil, itemsFrom(200, 1), {}, itemsFrom(300, 300)}
	ctx := context.Background()
	req := ewsclient.CalendarViewRequest{Start: testStart, End: testStart.Add(14 * 24 * time.Hour)}
	plain := viewAnswers(t, answers...)
	var want []*ewsclient.CalendarViewPage
	for i, a := range answers {
		page, err := plain.CalendarView(ctx, ewsclient.ActAs("alice@contoso.com"), req)
		if (err != nil) != (a == nil) {
			t.Fatalf("answer %d: CalendarView() = %v", i, err)
		}
		want = append(want, page)
	}

	c := viewAnswers(t, answers...)
	type kept struct{ id, subject, organizer string }
	var keep [][]kept
	for round := range 2 {
		for i, a := range answers {
			called := false
			err := c.CalendarViewFunc(ctx, ewsclient.ActAs("alice@contoso.com"), req, func(page *ewsclient.CalendarViewPage) error {
				called = true
				if !reflect.DeepEqual(page, want[i]) {
					t.Errorf("round %d, answer %d: CalendarViewFunc gave\n%+v\nwant\n%+v", round, i, page, want[i])
				}
				var k []kept
				for _, it := range page.Items {
					k = append(k, kept{it.ItemId.Id, it.Subject, it.Organizer.EmailAddress})
				}
				keep = append(keep, k)
				return nil
			})
			if a == nil {
				if !ews.IsCode(err, ews.ErrorServerBusy) || called {
					t.Fatalf("round %d, answer %d: CalendarViewFunc() = %v, fn called %v; want ErrorServerBusy without fn", round, i, err, called)
				}
				continue
			}
			if err != nil || !called {
				t.Fatalf("round %d, answer %d: CalendarViewFunc() = %v, fn called %v", round, i, err, called)
			}
		}
	}
	n := 0
	for range 2 {
		for _, a := range answers {
			if a == nil {
				continue
			}
			for j, it := range a {
				if got := keep[n][j]; got != (kept{it.ItemId.Id, it.Subject, it.Organizer.EmailAddress}) {
					t.Fatalf("a string kept from an earlier page changed: %+v, want %s %q", got, it.ItemId.Id, it.Subject)
				}
			}
			n++
		}
	}
}

// TestCalendarViewFuncReturnsFnsError: fn's error is CalendarViewFunc's.
func TestCalendarViewFuncReturnsFnsError(t *testing.T) {
	c := viewAnswers(t, itemsFrom(0, 2))
	want := errors.New("conversion failed")
	err := c.CalendarViewFunc(context.Background(), ewsclient.ActAs("alice@contoso.com"),
		ewsclient.CalendarViewRequest{Start: testStart, End: testStart.Add(time.Hour)},
		func(*ewsclient.CalendarViewPage) error { return want })
	if !errors.Is(err, want) {
		t.Fatalf("CalendarViewFunc() = %v, want fn's error", err)
	}
}

// BenchmarkCalendarView30 is one CalendarView call of a 30-item answer
// (a typical mailbox at a first load) returning the items, and the same
// through CalendarViewFunc's reused buffer, the engine's path.
func BenchmarkCalendarView30(b *testing.B) {
	c := viewAnswers(b, itemsFrom(0, 30))
	ctx := context.Background()
	req := ewsclient.CalendarViewRequest{Start: testStart, End: testStart.Add(14 * 24 * time.Hour)}
	call := ewsclient.ActAs("alice@contoso.com")
	b.Run("CalendarView", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if page, err := c.CalendarView(ctx, call, req); err != nil || len(page.Items) != 30 {
				b.Fatal(err)
			}
		}
	})
	b.Run("CalendarViewFunc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := c.CalendarViewFunc(ctx, call, req, func(page *ewsclient.CalendarViewPage) error {
				if len(page.Items) != 30 {
					b.Fatal(len(page.Items))
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
