package clock

import (
	"testing"
	"time"
)

// channelOnly is a Clock without AfterFunc: AfterFunc must fall back to a
// goroutine waiting on an ordinary timer.
type channelOnly struct{ Clock }

func TestAfterFuncOnAClockWithoutItCallsFOnceAtItsTime(t *testing.T) {
	fake := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var clk Clock = channelOnly{fake}
	if _, ok := clk.(FuncClock); ok {
		t.Fatal("the test clock must not have AfterFunc")
	}
	called := make(chan struct{}, 2)
	AfterFunc(clk, time.Minute, func() { called <- struct{}{} })
	fake.Advance(59 * time.Second)
	select {
	case <-called:
		t.Fatal("f ran before its time")
	default:
	}
	fake.Advance(time.Second)
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Fatal("f did not run once its time came")
	}
}

func TestAfterFuncStoppedOnAClockWithoutItNeverCallsF(t *testing.T) {
	fake := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	timer := AfterFunc(channelOnly{fake}, time.Minute, func() { t.Error("f ran after Stop") })
	if !timer.Stop() {
		t.Error("Stop of an armed timer = false, want true")
	}
	if timer.Stop() {
		t.Error("a second Stop = true, want false")
	}
	if n := fake.PendingTimers(); n != 0 {
		t.Errorf("pending timers after Stop = %d, want 0", n)
	}
	fake.Advance(time.Hour)
}

func TestAfterFuncUsesTheClocksOwnAfterFunc(t *testing.T) {
	fake := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	called := make(chan struct{}, 1)
	timer := AfterFunc(fake, time.Second, func() { called <- struct{}{} })
	if _, fallback := timer.(*waitingTimer); fallback {
		t.Fatal("AfterFunc on a clock with AfterFunc made a waiting goroutine")
	}
	fake.Advance(time.Second)
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Fatal("f did not run once its time came")
	}
}
