package clock

import (
	"testing"
	"time"
)

func TestFakeAfterFuncRunsWhenDueAndNotAfterStop(t *testing.T) {
	f := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ran := make(chan string, 2)
	f.AfterFunc(time.Minute, func() { ran <- "due" })
	stopped := f.AfterFunc(time.Minute, func() { ran <- "stopped" })
	if n := f.PendingTimers(); n != 2 {
		t.Fatalf("PendingTimers = %d, want 2 (AfterFunc timers count)", n)
	}
	if !stopped.Stop() {
		t.Errorf("Stop of an armed AfterFunc timer = false")
	}
	f.Advance(59 * time.Second)
	select {
	case got := <-ran:
		t.Fatalf("%s ran before it was due", got)
	default:
	}
	f.Advance(time.Second)
	if got := <-ran; got != "due" {
		t.Errorf("ran %q, want due", got)
	}
	if n := f.PendingTimers(); n != 0 {
		t.Errorf("PendingTimers after firing = %d, want 0", n)
	}
	select {
	case got := <-ran:
		t.Errorf("%s ran too", got)
	default:
	}
}

func TestRealAfterFunc(t *testing.T) {
	done := make(chan struct{})
	Real{}.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
}
