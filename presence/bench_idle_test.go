//go:build unix

package presence

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIdleScheduler10000Users runs the scheduler on the wall clock
// with 10,000 users whose next transitions are hours away, and reports the
// scheduler's wake-ups and the process CPU time per idle second. One op is
// 10 ms of idle time.
func BenchmarkIdleScheduler10000Users(b *testing.B) {
	// Calendars start tomorrow: no transition during the benchmark.
	day := time.Now().Truncate(24*time.Hour).AddDate(0, 0, 2)
	s, _ := newBenchScheduler(b, clock.Real{}, 10000, day)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.WaitFor(b, "initial plan", s.idle)
	// Collect the set-up garbage so that it is not billed to idle time.
	runtime.GC()
	wakeups := s.wakeups.Load()
	cpu := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	idle := b.Elapsed().Seconds()
	b.ReportMetric(float64(s.wakeups.Load()-wakeups), "wakeups")
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/idle, "cpu-µs/s")
}

// BenchmarkIdleBaselineNoScheduler is the same sleep loop without a
// scheduler: the CPU figure BenchmarkIdleScheduler10000Users is compared to.
func BenchmarkIdleBaselineNoScheduler(b *testing.B) {
	runtime.GC()
	cpu := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/b.Elapsed().Seconds(), "cpu-µs/s")
}
