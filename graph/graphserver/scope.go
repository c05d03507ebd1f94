package graphserver

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// The app's mailbox scope (an application access policy or an RBAC for
// Applications management scope, graph-facts §1): requests for mailboxes
// outside it answer 403 ErrorAccessDenied "Access to OData is disabled.".
// Exchange Online takes 30 minutes to 2 hours to apply a change, so a new
// scope takes effect after a propagation delay; until then the old one
// holds.

type accessScope struct {
	mu        sync.Mutex
	old, next map[string]bool // nil = every mailbox
	effective time.Time       // when next replaces old
}

// SetAccessScope limits the app to mailboxes (nil = every mailbox) after
// propagation on the model's clock (0 = at once).
func (s *Server) SetAccessScope(mailboxes []string, propagation time.Duration) {
	var next map[string]bool
	if mailboxes != nil {
		next = map[string]bool{}
		for _, m := range mailboxes {
			next[strings.ToLower(strings.TrimSpace(m))] = true
		}
	}
	now := s.now()
	sc := &s.scope
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.effective.After(now) {
		sc.old = sc.next
	}
	sc.next, sc.effective = next, now.Add(propagation)
}

// allowed reports whether the scope in force at now covers smtp.
func (sc *accessScope) allowed(smtp string, now time.Time) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	in := sc.next
	if sc.effective.After(now) {
		in = sc.old
	}
	return in == nil || in[smtp]
}

func errAccessDenied() *apiError {
	return errorf(http.StatusForbidden, "ErrorAccessDenied", "Access to OData is disabled.")
}
