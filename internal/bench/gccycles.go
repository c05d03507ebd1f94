package bench

import rtmetrics "runtime/metrics"

// gcCycles is how many garbage collections this process has completed:
// counted around the load, a figure of its CPU that the machine's load
// does not move (each cycle scans the globals and every goroutine's stack).
func gcCycles() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
