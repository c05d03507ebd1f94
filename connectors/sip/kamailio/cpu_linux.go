package kamailio

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times (100 on
// every Linux architecture Go supports).
const clockTick = 100

// CPUTime returns the processor time (user + system) the running server's
// processes have used so far, from /proc: the SIP benchmark tells
// Kamailio's share of a burst from calsync's.
func (s *Server) CPUTime() (time.Duration, error) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, fmt.Errorf("kamailio is not running")
	}
	pgid := cmd.Process.Pid
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // ended meanwhile
		}
		// After "pid (comm) ": state ppid pgrp … utime(14) stime(15), counted
		// from 1 over the whole line; comm may hold spaces, so cut at ')'.
		_, rest, ok := strings.Cut(string(b), ") ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 13 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += ut + st
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}
