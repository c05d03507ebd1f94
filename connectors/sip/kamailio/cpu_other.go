//go:build !linux

package kamailio

import (
	"errors"
	"time"
)

// CPUTime is known on Linux only.
func (s *Server) CPUTime() (time.Duration, error) {
	return 0, errors.New("kamailio CPU time: Linux only")
}
