package presence

import "encoding/json"

// AdoptUser plans a user this instance takes over from another instance
// sharing the store (package cluster). doc is the user's presence document
// as the previous owner last saved it (PresenceStore), so that what it
// published and any override carry over: an unchanged presence is not
// published again and the override stays. A nil or unreadable doc makes
// it AddUser.
func (s *Scheduler) AdoptUser(user string, doc []byte) {
	var sp storedPresence
	if doc != nil && json.Unmarshal(doc, &sp) == nil {
		s.mu.Lock()
		if st := s.users[user]; st != nil {
			p := sp.Presence
			st.published, st.override = &p, sp.Override
		} else {
			s.stored[user] = sp
		}
		s.mu.Unlock()
	}
	s.AddUser(user)
}

// ReleaseUser is RemoveUser for a user handed to another instance: it
// returns only after a change of the user being published now is saved
// too, so that the next owner adopts what was last published (AdoptUser).
func (s *Scheduler) ReleaseUser(user string) {
	s.RemoveUser(user)
	// Empty on purpose: taking the lock waits for a fireDue in flight.
	s.firing.Lock()
	s.firing.Unlock() //nolint:staticcheck // SA2001: the wait is the point

}
