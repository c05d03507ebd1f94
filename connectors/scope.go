package connectors

// A cluster instance publishes only the users whose mailboxes it owns
// (Options.Scoped): Adopt when it takes a mailbox over, Release when the
// mailbox moves to another instance. Ownership comes from outside (the
// cluster's leases); the runner knows nothing of the other instances.

// Adopt makes the runner publish user from now on. s is the presence the
// user should show (the stored presence the previous owner published),
// sent as a Resend so that the server shows it from this instance at
// once; nil waits for the user's next presence change.
func (r *Runner) Adopt(user string, s *State) {
	r.mu.Lock()
	if r.scope != nil {
		r.scope[user] = true
	}
	r.mu.Unlock()
	if s != nil {
		c := *s
		r.set(user, &c, true)
	}
}

// Release stops publishing users without withdrawing their presence: the
// new owner continues their publications. It returns when no update of
// theirs is in flight any more, so that what the target last did for them
// is final (and can be saved for the new owner).
func (r *Runner) Release(users []string) {
	gone := make(map[string]bool, len(users))
	for _, u := range users {
		gone[u] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for u := range gone {
		delete(r.scope, u)
		delete(r.users, u)
		delete(r.timerAt, u) // the heap entry is ignored when it fires
		delete(r.queued, u)
	}
	kept := r.queue[:0]
	for _, u := range r.queue {
		if !gone[u] {
			kept = append(kept, u)
		}
	}
	r.queue = kept
	for r.inflightAny(gone) {
		r.landed.Wait()
	}
}

func (r *Runner) inflightAny(users map[string]bool) bool {
	for u := range r.inflight {
		if users[u] {
			return true
		}
	}
	return false
}
