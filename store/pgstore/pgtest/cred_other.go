//go:build !unix

package pgtest

import "syscall"

// unprivileged: elsewhere the processes run as the test's user.
func unprivileged(string) (*syscall.SysProcAttr, error) { return nil, nil }
