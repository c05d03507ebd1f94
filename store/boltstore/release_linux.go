package boltstore

import "syscall"

// dropMapped drops this process's page mappings of [addr, addr+size) with
// madvise(MADV_DONTNEED). On a shared file mapping that only unmaps: the
// pages stay in the page cache and are read again from there.
func dropMapped(addr uintptr, size int64) error {
	if size <= 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
