package graphserver

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
)

// userDirectory maps Graph's user keys (object id or UPN) to mailbox
// addresses. Object ids are GUIDs derived from the address, so they are
// stable across restarts of the same simulated organisation.
type userDirectory struct {
	model Mailboxes
	mu    sync.Mutex
	byKey map[string]string // lower-case GUID or address → address
	known int               // how many mailboxes byKey covers
}

func newUserDirectory(m Mailboxes) *userDirectory {
	return &userDirectory{model: m, byKey: map[string]string{}}
}

// guidFrom derives a GUID-shaped id from a name.
func guidFrom(name string) string {
	b := sha256.Sum256([]byte(name))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ObjectID is the user's object id in Graph, derived from the address.
func ObjectID(smtp string) string { return guidFrom("user:" + strings.ToLower(smtp)) }

// resolve returns the mailbox address for a user key, or "" when none.
// The table is refreshed from the model when a key is not in it, so
// mailboxes added later are found.
func (d *userDirectory) resolve(key string) string {
	key = strings.ToLower(strings.TrimSpace(key))
	d.mu.Lock()
	defer d.mu.Unlock()
	if smtp, ok := d.byKey[key]; ok {
		return smtp
	}
	all := d.model.Mailboxes()
	if len(all) != d.known {
		for _, m := range all {
			d.byKey[m] = m
			d.byKey[ObjectID(m)] = m
		}
		d.known = len(all)
	}
	return d.byKey[key]
}
