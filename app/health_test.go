package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// batchSink records the batches published to it as "user=state" lists;
// while fail is set it rejects them.
type batchSink struct {
	mu      sync.Mutex
	fail    error
	batches [][]string
	calls   chan struct{}
}

func (b *batchSink) Publish(_ context.Context, evs []events.Event) error {
	defer func() { b.calls <- struct{}{} }()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	var batch []string
	for _, ev := range evs {
		var st struct{ State string }
		_ = json.Unmarshal(ev.Data, &st)
		batch = append(batch, ev.Key+"="+st.State)
	}
	b.batches = append(b.batches, batch)
	return nil
}

func (b *batchSink) setFail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail = err
}

func (b *batchSink) got() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.batches)
}

func status(user, state, code string) store.MailboxStatus {
	st := store.MailboxStatus{SMTP: user, State: state}
	if code != "" {
		st.LastError = &store.SyncError{Code: code}
	}
	return st
}

// TestHealthEventsPublishWhatIsNews: the steps of a first sync are left
// out; the first settled state and every change after it are published,
// what gathered before the publisher ran in one batch.
func TestHealthEventsPublishWhatIsNews(t *testing.T) {
	sink := &batchSink{calls: make(chan struct{}, 10)}
	clk := clock.NewFake(time.Unix(1000, 0))
	h := newHealthEvents(sink, clk, slog.New(slog.DiscardHandler))
	for _, st := range []store.MailboxStatus{
		status("a@example.com", engine.StateQueued, ""),
		status("a@example.com", engine.StateDiscovering, ""),
		status("a@example.com", engine.StateSubscribing, ""),
		status("b@example.com", engine.StateDiscovering, ""),
		status("b@example.com", engine.StateDiscovering, "ErrorImpersonateUserDenied"), // a failing first step is news
		status("a@example.com", engine.StateLoading, ""),
		status("a@example.com", engine.StateLive, ""),
		status("a@example.com", engine.StateResyncing, ""),
		status("a@example.com", engine.StateLoading, ""), // after the first sync, every step is news
	} {
		h.add(st)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	<-sink.calls
	want := [][]string{{"b@example.com=discovering", "a@example.com=live", "a@example.com=resyncing", "a@example.com=loading"}}
	if got := sink.got(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("published %v, want %v", got, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}

// TestHealthEventsRetryAFailedBatchFirst: when the durable sink fails, the
// batch is published again after healthRetryDelay, before what was queued
// meanwhile, so each mailbox's events keep their order.
func TestHealthEventsRetryAFailedBatchFirst(t *testing.T) {
	sink := &batchSink{calls: make(chan struct{}, 10)}
	sink.setFail(errors.New("outbox: disk full"))
	clk := clock.NewFake(time.Unix(1000, 0))
	h := newHealthEvents(sink, clk, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = h.run(ctx) }()

	h.add(status("a@example.com", engine.StateBackoff, "ErrorServerBusy"))
	<-sink.calls // failed
	h.add(status("a@example.com", engine.StateLive, ""))
	for clk.PendingTimers() == 0 {
		time.Sleep(time.Millisecond) // the retry timer is armed by run's goroutine
	}
	sink.setFail(nil)
	clk.Advance(healthRetryDelay)
	<-sink.calls
	want := [][]string{{"a@example.com=backoff", "a@example.com=live"}}
	if got := sink.got(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("published %v, want %v (the failed batch first)", got, want)
	}
}
