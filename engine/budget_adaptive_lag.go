package engine

import (
	"sync"
	"time"
)

// A round trip measured by the client contains the client's own
// scheduling: the goroutine that waits for the answer runs only when the
// host gives this process a CPU. On a host whose CPUs are overcommitted
// (several instances, the database and other services on a few cores) the
// round trips rise with the host's load, not with Exchange's queue, and the
// adaptive limiter read that as queueing: at a cluster failover the
// survivors sat at 1–2 requests in flight while Exchange was idle.
//
// lagProbe measures that scheduling delay directly, the way a latency
// monitor does: a goroutine sleeps a short interval and records how late
// it wakes up. On a host with CPU to spare the lateness is well under a
// millisecond; when this process waits for a CPU it is milliseconds to
// tens of them. The probe runs only while the limiter asks for it (while
// requests are answered) and stops after idleStop without a question, so
// an idle engine has no extra wake-ups. It measures real time on purpose:
// it is about the real scheduler, not the engine's clock.
type lagProbe struct {
	interval time.Duration // how long each probe sleeps
	idleStop int           // probes without a question before it stops

	mu      sync.Mutex
	lag     time.Duration // moving average of the lateness
	samples int           // probes since the goroutine started
	running bool
	asked   bool // a question since the last probe
	idle    int  // probes without a question
}

const (
	lagProbeInterval = 20 * time.Millisecond
	// lagProbeIdle probes (2 s) without a question end the goroutine.
	lagProbeIdle = 100
	// lagSmoothing is the weight of one probe in the moving average:
	// one late wake-up (a GC, a page fault) is not starvation.
	lagSmoothing = 0.2
	// lagWarmUp probes after a start before the average means anything.
	lagWarmUp = 5
)

func newLagProbe(interval time.Duration, idleStop int) *lagProbe {
	return &lagProbe{interval: interval, idleStop: idleStop}
}

// recent returns the recent average wake-up lateness of this process and
// keeps the probe running; ok is false while the probe has not measured
// enough since it (re)started — the first lagWarmUp intervals.
func (p *lagProbe) recent() (lag time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = true
	if !p.running {
		p.running = true
		p.idle, p.samples, p.lag = 0, 0, 0
		go p.run()
	}
	return p.lag, p.samples >= lagWarmUp
}

func (p *lagProbe) run() {
	for {
		start := time.Now()
		time.Sleep(p.interval)
		late := max(0, time.Since(start)-p.interval)
		if !p.record(late) {
			return
		}
	}
}

// record adds one lateness to the average and reports whether the probe
// goes on.
func (p *lagProbe) record(late time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.samples == 0 {
		p.lag = late
	} else {
		p.lag += time.Duration(lagSmoothing * float64(late-p.lag))
	}
	p.samples++
	if p.asked {
		p.asked, p.idle = false, 0
		return true
	}
	p.idle++
	if p.idle >= p.idleStop {
		p.running = false
		return false
	}
	return true
}

// isRunning reports whether the probe's goroutine runs (tests).
func (p *lagProbe) isRunning() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}
