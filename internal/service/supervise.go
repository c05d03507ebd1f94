package service

import (
	"context"
	"os"
	"syscall"
)

// control is a request of the service manager, independent of the platform.
type control int

const (
	controlStop   control = iota + 1 // stop or system shutdown
	controlReload                    // re-read the users to sync (Windows paramchange)
)

// state is what is reported to the service manager.
type state int

const (
	stateStarting state = iota + 1
	stateRunning
	stateStopping
)

// supervise runs fn and reacts to the service manager's controls until fn
// returns. A stop cancels fn's context and waits for it; a reload sends
// SIGHUP on reload without blocking. It returns fn's error.
func supervise(ctx context.Context, fn func(context.Context) error, controls <-chan control, report func(state), reload chan<- os.Signal) error {
	report(stateStarting)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	report(stateRunning)
	for {
		select {
		case err := <-done:
			report(stateStopping)
			return err
		case c, ok := <-controls:
			if !ok {
				controls = nil
				continue
			}
			switch c {
			case controlStop:
				report(stateStopping)
				cancel()
				return <-done
			case controlReload:
				if reload != nil {
					select {
					case reload <- syscall.SIGHUP:
					default:
					}
				}
				report(stateRunning)
			}
		}
	}
}
