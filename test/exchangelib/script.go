// Package exchangelib holds the Python scripts that drive calsync's
// simulator with exchangelib (Debian's python3-exchangelib): conformance.py,
// run by the simulator's conformance test, and bench.py, the exchangelib
// side of `calsync bench -compare exchangelib`, embedded here so that the
// comparison runs from the calsync binary alone.
package exchangelib

import _ "embed"

// BenchScript is bench.py.
//
//go:embed bench.py
var BenchScript []byte
