//go:build !unix

package pgserver

import "syscall"

// unprivileged: elsewhere the processes run as the caller's user.
func unprivileged(string) (*syscall.SysProcAttr, error) { return nil, nil }
