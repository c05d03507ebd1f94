package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestRunOutsideTheServiceManagerCallsFn(t *testing.T) {
	if IsWindowsService() {
		t.Skip("running under the Windows service manager")
	}
	want := errors.New("stopped")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	called := false
	err := Run(ctx, "calsync", func(got context.Context) error {
		called = true
		if got != ctx {
			t.Error("fn did not receive the caller's context")
		}
		return want
	}, Options{})
	if !called || !errors.Is(err, want) {
		t.Errorf("Run = %v (called %v); want fn's error", err, called)
	}
	w, err := LogWriter("calsync")
	if err != nil || w == nil {
		t.Fatalf("LogWriter = %v, %v", w, err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestExitCode(t *testing.T) {
	if exitCode(nil) != 0 || exitCode(errors.New("x")) != 1 {
		t.Error("exitCode")
	}
}

func TestSuperviseStopCancelsAndWaits(t *testing.T) {
	controls := make(chan control)
	var states []state
	reload := make(chan os.Signal, 1)
	started := make(chan struct{})
	result := make(chan error, 1)
	cleanedUp := false
	go func() {
		result <- supervise(context.Background(), func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cleanedUp = true
			return errors.New("graceful stop")
		}, controls, func(s state) { states = append(states, s) }, reload)
	}()
	<-started
	controls <- controlReload
	controls <- controlReload // the reload channel is full: must not block
	if got := <-reload; got != syscall.SIGHUP {
		t.Errorf("reload sent %v, want SIGHUP", got)
	}
	controls <- controlStop
	err := <-result
	if err == nil || err.Error() != "graceful stop" || !cleanedUp {
		t.Errorf("supervise = %v (cleaned up %v); want fn's error after it finished", err, cleanedUp)
	}
	want := []state{stateStarting, stateRunning, stateRunning, stateRunning, stateStopping}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("states = %v, want %v", states, want)
	}
}

func TestSuperviseFnEndsOnItsOwn(t *testing.T) {
	var states []state
	err := supervise(context.Background(), func(context.Context) error { return nil }, nil, func(s state) { states = append(states, s) }, nil)
	if err != nil || fmt.Sprint(states) != fmt.Sprint([]state{stateStarting, stateRunning, stateStopping}) {
		t.Errorf("supervise = %v, states %v", err, states)
	}
}

func TestSuperviseParentContextCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	controls := make(chan control)
	close(controls) // a closed control channel is ignored
	result := make(chan error, 1)
	go func() {
		result <- supervise(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, controls, func(state) {}, nil)
	}()
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("supervise = %v, want context.Canceled", err)
	}
}
