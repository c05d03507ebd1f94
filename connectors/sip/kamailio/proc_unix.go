//go:build unix

package kamailio

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs is the unprivileged user Kamailio runs as when calsync runs as
// root; any other user runs it as itself.
const runAs = "nobody"

// procAttr puts Kamailio and its children in their own process group (so
// Stop reaches all of them) and, as root, drops to runAs.
func procAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if uid, gid, ok := unprivilegedIDs(); ok {
		attr.Credential = &syscall.Credential{Uid: uid, Gid: gid}
	}
	return attr
}

func unprivilegedIDs() (uint32, uint32, bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return 0, 0, false
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uint32(uid), uint32(gid), true
}

// giveAway hands the server's folder to runAs when running as root.
func giveAway(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid, ok := unprivilegedIDs()
	if !ok {
		return fmt.Errorf("running as root, kamailio needs the user %s to run unprivileged", runAs)
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(uid), int(gid))
	})
}

// signalGroup signals the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }
