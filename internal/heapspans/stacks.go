package heapspans

import (
	"sort"
	"strings"
)

// Stack is the goroutines of one start function and stack size.
type Stack struct {
	Start      string // the goroutine's outermost function below runtime.goexit
	Size       uint64 // bytes
	Goroutines int
	UsedAvg    uint64 // bytes in use, from the saved stack pointer
}

// Stacks groups the dump's goroutines by start function and stack size,
// the largest total first. The stack bounds are the first two words of
// each goroutine's g (runtime.g.stack); goroutines whose g is not in the
// dump are left out.
func (d *Dump) Stacks() []Stack {
	type key struct {
		start string
		size  uint64
	}
	by := map[key]*Stack{}
	var used = map[key]uint64{}
	for _, g := range d.Goroutines {
		h, ok := d.gHeads[g.Addr]
		if !ok || h[1] <= h[0] || g.SP > h[1] || len(g.Frames) == 0 {
			continue
		}
		k := key{start(g.Frames), h[1] - h[0]}
		s := by[k]
		if s == nil {
			s = &Stack{Start: k.start, Size: k.size}
			by[k] = s
		}
		s.Goroutines++
		used[k] += h[1] - g.SP
	}
	out := make([]Stack, 0, len(by))
	for k, s := range by {
		s.UsedAvg = used[k] / uint64(s.Goroutines)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Size*uint64(out[i].Goroutines) > out[j].Size*uint64(out[j].Goroutines)
	})
	return out
}

// start is the outermost frame that is not the runtime's goroutine exit.
func start(frames []string) string {
	for i := len(frames) - 1; i >= 0; i-- {
		if !strings.HasPrefix(frames[i], "runtime.goexit") {
			return frames[i]
		}
	}
	return frames[0]
}
