package ewsmem_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/internal/clock"
)

// advanceWhileRunning runs fn in a goroutine and, each time fn waits on a
// clock timer, advances the fake clock by step, until fn returns.
func advanceWhileRunning(t *testing.T, fc *clock.Fake, step time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return
		default:
		}
		if fc.PendingTimers() > 0 {
			fc.Advance(step)
			continue
		}
		if time.Now().After(deadline) {
			t.Fatal("batch did not finish")
		}
		time.Sleep(time.Millisecond)
	}
}

func addItems(t *testing.T, x *ewsmem.Exchange, user string, n int) []ews.ItemRef {
	t.Helper()
	var refs []ews.ItemRef
	for i := 0; i < n; i++ {
		id, err := x.AddCalendarItem(user, ews.CalendarItem{Subject: "batch", Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i)*time.Hour + 30*time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ews.ItemByID(id))
	}
	return refs
}

func codesOf(errs []error) []ews.ResponseCode {
	out := make([]ews.ResponseCode, len(errs))
	for i, err := range errs {
		out[i] = codeOf(err)
	}
	return out
}

func itemErrs(res []ewsserver.ItemResult) []error {
	out := make([]error, len(res))
	for i, r := range res {
		out[i] = r.Err
	}
	return out
}

func sameCodes(got, want []ews.ResponseCode) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// wantWarnings checks that every ErrorBatchProcessingStopped is a Warning.
func wantWarnings(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if codeOf(err) != ews.ErrorBatchProcessingStopped {
			continue
		}
		if re, ok := err.(*ews.ResponseError); !ok || re.Class != ews.ClassWarning {
			t.Errorf("item %d = %#v, want ErrorBatchProcessingStopped with ResponseClass Warning", i, err)
		}
	}
}

// slowItems is a farm whose batch items each take its latency to execute.
type slowItems struct{ latency atomic.Int64 }

func (s *slowItems) ItemLatency() time.Duration { return time.Duration(s.latency.Load()) }
func (s *slowItems) StreamsSilent() bool        { return false }
func (s *slowItems) ProxyFailing() bool         { return false }

func newSlowItems(d time.Duration) *slowItems {
	s := &slowItems{}
	s.latency.Store(int64(d))
	return s
}

func TestBatchTimeLimit(t *testing.T) {
	slow := newSlowItems(25 * time.Second)
	x, fc := newExchange(t, ewsmem.Options{Conditions: slow})
	ctx := context.Background()
	user := "user1@example.com"
	c := svcCaller(x, user)
	refs := addItems(t, x, user, 5)
	// 25 s per item: the third item starts at 50 s and ends at 75 s, past
	// the one-minute limit; the last two are not processed.
	var got []ewsserver.ItemResult
	advanceWhileRunning(t, fc, 25*time.Second, func() { got = x.GetItem(ctx, c, refs) })
	stopped := []ews.ResponseCode{"", "", "", ews.ErrorBatchProcessingStopped, ews.ErrorBatchProcessingStopped}
	if codes := codesOf(itemErrs(got)); !sameCodes(codes, stopped) {
		t.Fatalf("GetItem(5 items × 25 s) codes = %v, want %v", codes, stopped)
	}
	wantWarnings(t, itemErrs(got))
	if got[2].Item == nil || got[2].Item.ItemId.Id != refs[2].Item.Id {
		t.Errorf("GetItem item 2 = %+v, want the item", got[2].Item)
	}

	// DeleteItem stops the same way, and the stopped items stay.
	var dels []error
	advanceWhileRunning(t, fc, 25*time.Second, func() { dels = x.DeleteItem(ctx, c, refs) })
	if codes := codesOf(dels); !sameCodes(codes, stopped) {
		t.Fatalf("DeleteItem(5 items × 25 s) codes = %v, want %v", codes, stopped)
	}
	wantWarnings(t, dels)
	slow.latency.Store(0)
	after := x.GetItem(ctx, c, refs)
	want := []ews.ResponseCode{ews.ErrorItemNotFound, ews.ErrorItemNotFound, ews.ErrorItemNotFound, "", ""}
	if codes := codesOf(itemErrs(after)); !sameCodes(codes, want) {
		t.Errorf("GetItem after the stopped DeleteItem = %v, want %v", codes, want)
	}
}

func TestBatchTimeLimitConfigurable(t *testing.T) {
	ctx := context.Background()
	user := "user1@example.com"
	tests := []struct {
		name  string
		limit time.Duration
		want  []ews.ResponseCode
	}{
		{"two minutes", 2 * time.Minute, []ews.ResponseCode{"", "", "", "", ""}},
		{"thirty seconds", 30 * time.Second, []ews.ResponseCode{"", "", ews.ErrorBatchProcessingStopped, ews.ErrorBatchProcessingStopped, ews.ErrorBatchProcessingStopped}},
		{"off", -1, []ews.ResponseCode{"", "", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, fc := newExchange(t, ewsmem.Options{BatchTimeLimit: tt.limit, Conditions: newSlowItems(25 * time.Second)})
			c := svcCaller(x, user)
			refs := addItems(t, x, user, 5)
			changes := make([]ewsserver.ItemChange, len(refs))
			for i, r := range refs {
				changes[i] = ewsserver.ItemChange{Ref: r, Updates: []ewsserver.FieldUpdate{{FieldURI: "item:Subject", Value: ews.CalendarItem{Subject: "renamed"}}}}
			}
			var got []ewsserver.ItemResult
			advanceWhileRunning(t, fc, 25*time.Second, func() { got = x.UpdateItem(ctx, c, changes, "AlwaysOverwrite") })
			if codes := codesOf(itemErrs(got)); !sameCodes(codes, tt.want) {
				t.Errorf("UpdateItem(5 items × 25 s, limit %s) codes = %v, want %v", tt.limit, codes, tt.want)
			}
			wantWarnings(t, itemErrs(got))
		})
	}
}

func TestBatchWithoutItemLatencyIsNeverCut(t *testing.T) {
	x, fc := newExchange(t, ewsmem.Options{})
	ctx := context.Background()
	user := "user1@example.com"
	c := svcCaller(x, user)
	items := make([]ews.CalendarItem, 300)
	for i := range items {
		items[i] = ews.CalendarItem{Subject: "many", Start: t0, End: t0.Add(time.Hour)}
	}
	res := x.CreateItem(ctx, c, ews.CalendarFolder(), items)
	var refs []ews.ItemRef
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("CreateItem item %d = %v", i, r.Err)
		}
		refs = append(refs, ews.ItemByID(r.Item.ItemId))
	}
	// Time passing on the clock (another goroutine, a test) is not
	// execution time of the batch.
	fc.Advance(2 * time.Hour)
	for i, r := range x.GetItem(ctx, c, refs) {
		if r.Err != nil {
			t.Fatalf("GetItem item %d = %v", i, r.Err)
		}
	}
}

func TestStopTheBatchErrors(t *testing.T) {
	x, _ := newExchange(t, ewsmem.Options{})
	ctx := context.Background()
	// user1 has no FullAccess to user2's calendar: ErrorAccessDenied for
	// the first item stops the batch.
	c := &ewsserver.Caller{Account: "user1@example.com", RequestVersion: ews.Exchange2013SP1}
	folder := ews.FolderRef{Distinguished: &ews.DistinguishedFolderId{Id: ews.FolderCalendar, Mailbox: "user2@example.com"}}
	items := []ews.CalendarItem{{Subject: "a", Start: t0, End: t0.Add(time.Hour)}, {Subject: "b", Start: t0, End: t0.Add(time.Hour)}, {Subject: "c", Start: t0, End: t0.Add(time.Hour)}}
	res := x.CreateItem(ctx, c, folder, items)
	want := []ews.ResponseCode{ews.ErrorAccessDenied, ews.ErrorBatchProcessingStopped, ews.ErrorBatchProcessingStopped}
	if codes := codesOf(itemErrs(res)); !sameCodes(codes, want) {
		t.Fatalf("CreateItem(foreign calendar) codes = %v, want %v", codes, want)
	}
	wantWarnings(t, itemErrs(res))
	// An error that does not stop the batch (a bad id) leaves the rest alone.
	refs := addItems(t, x, "user1@example.com", 2)
	mixed := []ews.ItemRef{refs[0], ews.ItemByID(ews.ItemId{Id: "bm90LWFuLWlk"}), refs[1]}
	got := x.GetItem(ctx, c, mixed)
	want = []ews.ResponseCode{"", ews.ErrorInvalidIdMalformed, ""}
	if codes := codesOf(itemErrs(got)); !sameCodes(codes, want) {
		t.Errorf("GetItem(good, malformed, good) codes = %v, want %v", codes, want)
	}
}
