package engine

import (
	"errors"
	"testing"
)

func TestDeepPoolReturnsTheCallsResult(t *testing.T) {
	p := newDeepPool()
	defer p.stop()
	want := errors.New("boom")
	if err := p.run(func() error { return want }); !errors.Is(err, want) {
		t.Fatalf("run = %v, want %v", err, want)
	}
	ran := false
	if err := p.run(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("run = %v, ran %v; want nil, true", err, ran)
	}
}

// A call that waits for another call (a request for a connection, a
// commit for the store's lock) must not wait for one that never starts.
func TestDeepPoolCallWaitingForAnotherCallProceeds(t *testing.T) {
	p := newDeepPool()
	defer p.stop()
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- p.run(func() error {
			<-release
			return nil
		})
	}()
	// The second call runs while the first still waits, and releases it.
	if err := p.run(func() error { close(release); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func TestDeepPoolRaisesAPanicOnTheCaller(t *testing.T) {
	p := newDeepPool()
	defer p.stop()
	defer func() {
		if r := recover(); r != "decoder bug" {
			t.Fatalf("recovered %v, want the call's panic", r)
		}
		// The pool still serves.
		if err := p.run(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}()
	_ = p.run(func() error { panic("decoder bug") })
	t.Fatal("run returned after a panic")
}

func TestDeepPoolStopEndsItsGoroutinesAndLaterCallsRunInline(t *testing.T) {
	p := newDeepPool()
	for range 3 {
		if err := p.run(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	p.stop() // returns only when every pool goroutine ended
	ran := false
	if err := p.run(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("after stop: run = %v, ran %v", err, ran)
	}
	var nilPool *deepPool
	if err := nilPool.run(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}
