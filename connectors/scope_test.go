package connectors

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

// A scoped runner (one cluster instance) publishes only adopted users: it
// reads neither the initial set nor the held users, ignores changes of
// users another instance owns, and sends an adopted user's stored state
// at once as a Resend.
func TestScopedRunnerPublishesOnlyAdoptedUsers(t *testing.T) {
	clk := clock.NewFake(t0)
	ft := newFakeTarget(clk)
	ft.held = []string{"other@x"}
	initial := func(context.Context) (map[string]State, error) {
		t.Error("a scoped runner read the initial set of every user")
		return nil, nil
	}
	r := startRunner(t, Options{Target: ft, Clock: clk, Scoped: true, Initial: initial})
	r.Set("other@x", State{Availability: "busy"})
	r.Adopt("mine@x", &State{Availability: "tentative"})
	r.Adopt("quiet@x", nil)
	testenv.WaitFor(t, "the adopted user sent", func() bool { return len(ft.snapshot()) == 1 && r.Status().Queue == 0 })
	if u := ft.snapshot()[0]; u.User != "mine@x" || !u.Resend || u.State.Availability != "tentative" {
		t.Fatalf("first update %+v, want mine@x's stored state as a Resend", u)
	}
	r.Set("quiet@x", State{Availability: "busy"})
	testenv.WaitFor(t, "the other adopted user's change sent", func() bool {
		return ft.count(func(u Update) bool { return u.User == "quiet@x" }) == 1
	})
	if n := ft.count(func(u Update) bool { return u.User == "other@x" }); n != 0 {
		t.Fatalf("%d updates of a user not adopted (neither withdrawn as held nor published), want 0", n)
	}
}

// Release stops a user's updates and refreshes without withdrawing the
// presence (the new owner continues it), waits for an update in flight,
// and later changes of the user are ignored.
func TestScopedRunnerReleaseStopsWithoutWithdrawing(t *testing.T) {
	clk := clock.NewFake(t0)
	ft := newFakeTarget(clk)
	ft.refreshIn = 10 * time.Minute
	r := startRunner(t, Options{Target: ft, Clock: clk, Scoped: true})
	r.Adopt("a@x", &State{Availability: "busy"})
	r.Adopt("b@x", &State{Availability: "busy"})
	testenv.WaitFor(t, "both sent", func() bool { return len(ft.snapshot()) == 2 && r.Status().Queue == 0 })

	ft.mu.Lock()
	ft.gate = make(chan struct{})
	ft.mu.Unlock()
	r.Set("a@x", State{Availability: "available"})
	testenv.WaitFor(t, "a's change in flight", func() bool { return ft.inFlight() == 1 })
	released := make(chan int)
	go func() {
		r.Release([]string{"a@x"})
		released <- ft.inFlight()
	}()
	select {
	case <-released:
		t.Fatal("Release returned while a's update was in flight")
	case <-time.After(50 * time.Millisecond): // a window for a wrong early return
	}
	close(ft.gate)
	if n := <-released; n != 0 {
		t.Fatalf("Release returned with %d updates in flight", n)
	}
	r.Set("a@x", State{Availability: "out_of_office"})
	clk.Advance(10 * time.Minute)
	testenv.WaitFor(t, "b refreshed", func() bool { return ft.count(func(u Update) bool { return u.User == "b@x" }) == 2 })
	for _, u := range ft.snapshot() {
		if u.User == "a@x" && (u.State == nil || u.State.Availability == "out_of_office") {
			t.Fatalf("after Release: %+v (withdrawn, or a change after the release sent)", u)
		}
	}
	if n := ft.count(func(u Update) bool { return u.User == "a@x" }); n != 2 {
		t.Fatalf("%d updates of a@x, want 2 (adopted, the change in flight at the release; no refresh after)", n)
	}
	if st := r.Status(); st.Users != 1 {
		t.Fatalf("status %+v, want 1 user", st)
	}
}
