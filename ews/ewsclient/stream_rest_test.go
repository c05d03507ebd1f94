package ewsclient_test

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

// goroutineStacks returns the stack of every goroutine, one per element.
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// clientGoroutines counts the goroutines the client runs for itself (the
// test's own, which call into it, excluded).
func clientGoroutines() int {
	n := 0
	for _, g := range goroutineStacks() {
		if strings.Contains(g, "calsync/ews/ewsclient.") && !strings.Contains(g, "ewsclient_test.") {
			n++
		}
	}
	return n
}

// pushServer is a stream that sends a heartbeat each time the test asks.
func pushServer(send <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-send:
				_, _ = w.Write(heartbeat())
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	})
}

// TestStreamAtRestCostsNoGoroutine: an open stream, read up to date and
// waiting for the next envelope, runs no goroutine of the client's (its
// idle watchdog is a timer), and the reader waits outside the XML
// decoder, so that its stack can shrink while the connection rests.
func TestStreamAtRestCostsNoGoroutine(t *testing.T) {
	c := clientFor(t, streamServer([][]byte{heartbeat()}, func(r *http.Request) { <-r.Context().Done() }), nil)
	s := openStream(t, c)
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Next()
		done <- err
	}()
	testenv.WaitFor(t, "the reader to wait for the next envelope", func() bool {
		for _, g := range goroutineStacks() {
			if strings.Contains(g, "ewsclient.(*Stream).Next") && strings.Contains(g, "[IO wait") {
				if strings.Contains(g, "encoding/xml") {
					t.Fatalf("the stream waits inside the XML decoder:\n%s", g)
				}
				return true
			}
		}
		return false
	})
	if n := clientGoroutines(); n != 0 {
		t.Fatalf("%d goroutines of the client's own run for one open stream:\n%s", n, strings.Join(goroutineStacks(), "\n\n"))
	}
	s.Close()
	if err := <-done; err == nil {
		t.Fatal("Next() after Close = nil error")
	}
}

// TestStreamIdleWatchdogFollowsTraffic: each envelope starts the idle
// timeout again (driven by the injected clock); silence past it ends the
// stream with ErrStreamIdle; and the watchdog's timer is gone once the
// stream is closed.
func TestStreamIdleWatchdogFollowsTraffic(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	send := make(chan struct{})
	c := clientFor(t, pushServer(send), &ewsclient.Options{Clock: clk, StreamIdleTimeout: 90 * time.Second})
	s := openStream(t, c)
	if clk.PendingTimers() != 1 {
		t.Fatalf("an open stream has %d timers on the clock, want its idle watchdog", clk.PendingTimers())
	}
	// Every 60 s an envelope: 180 s pass without the 90 s idle timeout
	// ending the stream.
	for range 3 {
		clk.Advance(60 * time.Second)
		send <- struct{}{}
		if b, err := s.Next(); err != nil || b.Status != ews.ConnectionOK {
			t.Fatalf("Next() = %+v, %v", b, err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Next()
		done <- err
	}()
	clk.Advance(91 * time.Second)
	select {
	case err := <-done:
		if !errors.Is(err, ewsclient.ErrStreamIdle) || !ews.Retryable(err) {
			t.Fatalf("Next() after 91 s of silence = %v, want ErrStreamIdle", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the idle watchdog did not end the silent stream")
	}
	s.Close()
	if n := clk.PendingTimers(); n != 0 {
		t.Fatalf("%d timers left on the clock after Close", n)
	}
}

// TestStreamCloseStopsTheIdleWatchdog: closing a stream disarms its idle
// watchdog at once (no timer left to fire, no goroutine).
func TestStreamCloseStopsTheIdleWatchdog(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := clientFor(t, pushServer(make(chan struct{})), &ewsclient.Options{Clock: clk, StreamIdleTimeout: 90 * time.Second})
	s := openStream(t, c)
	s.Close()
	if n := clk.PendingTimers(); n != 0 {
		t.Fatalf("%d timers left on the clock after Close", n)
	}
	testenv.WaitFor(t, "no goroutine of the client's left", func() bool { return clientGoroutines() == 0 })
}
