//go:build windows

package service

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// stopWaitHint tells the SCM how long a graceful stop may take.
const stopWaitHint = 30 * time.Second

// IsWindowsService reports whether the process was started by the Windows
// Service Control Manager.
func IsWindowsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

// Run runs fn as the service name. Under the SCM it reports Running,
// cancels fn's context on Stop or Shutdown (or when ctx ends), turns
// paramchange into a reload request, and returns fn's error after
// reporting Stopped. Started from a console it just calls fn(ctx).
func Run(ctx context.Context, name string, fn func(context.Context) error, opts Options) error {
	if !IsWindowsService() {
		return fn(ctx)
	}
	h := &handler{ctx: ctx, fn: fn, reload: opts.Reload}
	if err := svc.Run(name, h); err != nil {
		return fmt.Errorf("service: run %s: %w", name, err)
	}
	return h.err
}

type handler struct {
	ctx    context.Context
	fn     func(context.Context) error
	reload chan<- os.Signal
	err    error
}

// accepted are the controls calsync handles.
const accepted = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptParamChange

// Execute implements svc.Handler: it translates the SCM's requests into
// controls for supervise and supervise's states into SCM statuses.
func (h *handler) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	controls := make(chan control)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			select {
			case <-quit:
				return
			case c := <-requests:
				var ctl control
				switch c.Cmd {
				case svc.Interrogate:
					status <- c.CurrentStatus
					continue
				case svc.Stop, svc.Shutdown:
					ctl = controlStop
				case svc.ParamChange:
					ctl = controlReload
				default:
					continue
				}
				select {
				case controls <- ctl:
				case <-quit:
					return
				}
			}
		}
	}()
	report := func(s state) {
		switch s {
		case stateStarting:
			status <- svc.Status{State: svc.StartPending}
		case stateRunning:
			status <- svc.Status{State: svc.Running, Accepts: accepted}
		case stateStopping:
			status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWaitHint / time.Millisecond)}
		}
	}
	h.err = supervise(h.ctx, h.fn, controls, report, h.reload)
	return false, exitCode(h.err)
}

// Install registers the service (automatic start, delayed) and its event
// log source. exePath is the calsync binary; args follow it on the
// service's command line (e.g. "run", "--config", `C:\ProgramData\calsync\calsync.yaml`).
func Install(name, displayName, exePath string, args ...string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service: connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(name); err == nil {
		s.Close()
		return fmt.Errorf("service: %s is already installed", name)
	}
	s, err := m.CreateService(name, exePath, mgr.Config{
		DisplayName:      displayName,
		Description:      "Keeps Exchange calendars in sync over EWS and publishes presence.",
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
	}, args...)
	if err != nil {
		return fmt.Errorf("service: create %s: %w", name, err)
	}
	defer s.Close()
	if err := eventlog.InstallAsEventCreate(name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		_ = s.Delete()
		return fmt.Errorf("service: register the event log source %s: %w", name, err)
	}
	return nil
}

// Uninstall removes the service and its event log source.
func Uninstall(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service: connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("service: %s is not installed: %w", name, err)
	}
	defer s.Close()
	if err := s.Delete(); err != nil {
		return fmt.Errorf("service: delete %s: %w", name, err)
	}
	_ = eventlog.Remove(name)
	return nil
}

// LogWriter returns a writer that sends each line to the Windows Event Log
// under source name when running as a service (lines containing
// level=ERROR or "level":"ERROR" become errors, WARN warnings), and
// standard error otherwise.
func LogWriter(name string) (io.WriteCloser, error) {
	if !IsWindowsService() {
		return nopCloser{os.Stderr}, nil
	}
	l, err := eventlog.Open(name)
	if err != nil {
		return nil, fmt.Errorf("service: open the event log %s: %w", name, err)
	}
	return &eventWriter{log: l}, nil
}

type nopCloser struct{ io.Writer }

// Close does nothing: standard error stays open.
func (nopCloser) Close() error { return nil }

// eventWriter splits writes into lines and logs each one.
type eventWriter struct {
	mu  sync.Mutex
	log *eventlog.Log
	buf bytes.Buffer
}

// Write logs every complete line and keeps a partial one for later.
func (w *eventWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			// Keep the incomplete line for the next write.
			w.buf.Reset()
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.emit(strings.TrimRight(line, "\r\n"))
	}
}

func (w *eventWriter) emit(line string) {
	const eventID = 1
	switch {
	case strings.Contains(line, "level=ERROR"), strings.Contains(line, `"level":"ERROR"`):
		_ = w.log.Error(eventID, line)
	case strings.Contains(line, "level=WARN"), strings.Contains(line, `"level":"WARN"`):
		_ = w.log.Warning(eventID, line)
	default:
		_ = w.log.Info(eventID, line)
	}
}

// Close flushes a pending partial line and closes the event log.
func (w *eventWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.emit(w.buf.String())
		w.buf.Reset()
	}
	return w.log.Close()
}
