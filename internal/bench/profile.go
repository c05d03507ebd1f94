package bench

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startCPUProfile profiles the process's CPU into path until the returned
// function runs (it may run more than once); "" profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: CPU profile: %w", err)
	}
	done := false
	return func() {
		if !done {
			done = true
			pprof.StopCPUProfile()
			f.Close()
		}
	}, nil
}

// writeHeapProfile writes the heap profile to path ("" writes nothing).
func writeHeapProfile(path string) error {
	return writeProfileFile(path, "heap profile", func(f *os.File) error { return pprof.WriteHeapProfile(f) })
}

// writeProfileFile creates path and has write fill it ("" writes nothing);
// what names the file in errors.
func writeProfileFile(path, what string, write func(*os.File) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %s: %w", what, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: %s: %w", what, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: %s: %w", what, err)
	}
	return nil
}
