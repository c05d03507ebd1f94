package service

import (
	"context"
	"errors"
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
