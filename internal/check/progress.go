package check

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// progressWidth is the bar's width in characters.
const progressWidth = 30

// progress draws a progress bar on a terminal (redrawn in place with \r)
// or, on other writers, prints a line at every 10 %.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	label  string
	total  int
	n      int
	lastPc int
}

// newProgress returns a progress for total steps; a nil writer or zero
// total gives a progress that prints nothing.
func newProgress(w io.Writer, tty bool, label string, total int) *progress {
	if total <= 0 {
		w = nil
	}
	p := &progress{w: w, tty: tty, label: label, total: total, lastPc: -1}
	p.draw()
	return p
}

// step records one finished unit of work.
func (p *progress) step() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.drawLocked()
}

func (p *progress) draw() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked()
}

func (p *progress) drawLocked() {
	pc := p.n * 100 / p.total
	if p.tty {
		filled := p.n * progressWidth / p.total
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("#", filled), strings.Repeat(".", progressWidth-filled), p.n, p.total)
		return
	}
	if pc/10 != p.lastPc/10 || p.lastPc < 0 {
		p.lastPc = pc
		fmt.Fprintf(p.w, "%s: %d/%d users checked (%d%%)\n", p.label, p.n, p.total, pc)
	}
}

// done ends the bar's line on a terminal.
func (p *progress) done() {
	if p.w == nil || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
}
