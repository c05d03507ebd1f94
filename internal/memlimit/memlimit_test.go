package memlimit

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestForGrowsWithTheMailboxes(t *testing.T) {
	if got, want := For(0), int64(32<<20); got != want {
		t.Errorf("For(0) = %d, want %d", got, want)
	}
	if got, want := For(1000), int64(32<<20+1000*16<<10); got != want {
		t.Errorf("For(1000) = %d, want %d", got, want)
	}
	if got := For(-5); got != For(0) {
		t.Errorf("For(-5) = %d, want the base %d", got, For(0))
	}
	// The budget: 25 KB per mailbox at 50,000 (RSS, of which the
	// limit bounds the runtime's part).
	if per := float64(For(50000)) / 50000; per > 25000 {
		t.Errorf("For(50000) = %.0f bytes per mailbox, above 25 KB", per)
	}
}

func TestSetForMailboxesSetsTheRuntimeLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if got := SetForMailboxes(2000); got != For(2000) {
		t.Errorf("SetForMailboxes(2000) = %d, want %d", got, For(2000))
	}
	if got := debug.SetMemoryLimit(-1); got != For(2000) {
		t.Errorf("runtime limit = %d, want %d", got, For(2000))
	}
}

func TestAnOperatorsGOMEMLIMITWins(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30) // what the runtime read from GOMEMLIMIT at start
	if got := SetForMailboxes(100); got != 1<<30 {
		t.Errorf("SetForMailboxes with GOMEMLIMIT=1GiB = %d, want %d", got, 1<<30)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("runtime limit = %d, want the operator's %d", got, 1<<30)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if !Off(SetForMailboxes(100)) {
		t.Error("GOMEMLIMIT=off: the limit is not reported as off")
	}
}
