package app

// setMemoryLimit hands the number of mailboxes this instance syncs to
// Options.MemoryLimit: the runtime's memory limit follows it
// (internal/memlimit explains why).
func (a *App) setMemoryLimit(mailboxes int) {
	if a.memoryLimit != nil {
		a.memoryLimit(mailboxes)
	}
}
