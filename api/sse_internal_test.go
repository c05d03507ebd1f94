package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
)

// stuckWriter is a ResponseWriter whose Write blocks, like a connection to
// a client that stopped reading, until a write deadline is set.
type stuckWriter struct {
	header  http.Header
	writes  chan struct{} // one value per Write call that started
	unblock chan struct{}
	once    sync.Once
}

func (w *stuckWriter) Header() http.Header { return w.header }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Write(b []byte) (int, error) {
	w.writes <- struct{}{}
	<-w.unblock
	return 0, errors.New("write deadline exceeded")
}
func (w *stuckWriter) Flush() {}
func (w *stuckWriter) SetWriteDeadline(time.Time) error {
	w.once.Do(func() { close(w.unblock) })
	return nil
}

func TestStuckClientIsReleasedWhenDropped(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	log, err := events.NewLog(events.Options{ClientBuffer: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{opts: Options{Events: log, Clock: clk}}
	w := &stuckWriter{header: http.Header{}, writes: make(chan struct{}, 100), unblock: make(chan struct{})}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/events", nil)
	done := make(chan struct{})
	go func() {
		s.handleEvents(w, req)
		close(done)
	}()
	<-w.writes // the handler is stuck writing the stream's preamble
	for i := 0; log.Subscribers() == 1; i++ {
		ev, _ := events.NewEvent(EventPresenceChanged, "", i)
		if err := log.Publish(t.Context(), []events.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the handler of a dropped, stuck client did not return")
	}
}
