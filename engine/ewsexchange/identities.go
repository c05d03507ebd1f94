package ewsexchange

import (
	"strings"
	"sync"

	"github.com/calsync/calsync/ews"
)

// Identities decides how each mailbox is impersonated
// (ExchangeImpersonation/ConnectingSID). The engine names mailboxes by
// SMTP address; an administrator may prefer the user principal name or the
// SID (exchange.impersonation.id_type), which the users source supplies.
// A mailbox whose UPN or SID is unknown falls back to its primary SMTP
// address, which Exchange always accepts. X-AnchorMailbox is always the
// SMTP address. Safe for concurrent use; the zero value impersonates by
// SMTP address.
type Identities struct {
	kind ews.ConnectingSIDKind

	mu        sync.RWMutex
	byMailbox map[string]string // lower-case SMTP → UPN or SID
}

// NewIdentities returns a table impersonating by kind: ews.SIDPrincipalName
// or ews.SIDSecurityID; any other kind impersonates by SMTP address.
func NewIdentities(kind ews.ConnectingSIDKind) *Identities {
	return &Identities{kind: kind}
}

// UserIDs are the identifiers the users source knows for one mailbox.
type UserIDs struct {
	UPN, SID string
}

// Set replaces the table: ids maps SMTP addresses to what the users source
// knows; the table keeps the UPN or the SID, per its kind. It returns how
// many mailboxes lack that identifier and will be impersonated by SMTP
// address.
func (t *Identities) Set(ids map[string]UserIDs) (missing int) {
	m := make(map[string]string, len(ids))
	for smtp, u := range ids {
		id := u.UPN
		if t.kind == ews.SIDSecurityID {
			id = u.SID
		}
		id = strings.TrimSpace(id)
		if id == "" {
			missing++
			continue
		}
		m[strings.ToLower(smtp)] = id
	}
	t.mu.Lock()
	t.byMailbox = m
	t.mu.Unlock()
	return missing
}

// For returns the ConnectingSID for the mailbox smtp.
func (t *Identities) For(smtp string) ews.ConnectingSID {
	if t == nil || (t.kind != ews.SIDPrincipalName && t.kind != ews.SIDSecurityID) {
		return ews.ImpersonateSMTP(smtp)
	}
	t.mu.RLock()
	id, ok := t.byMailbox[strings.ToLower(smtp)]
	t.mu.RUnlock()
	if !ok {
		return ews.ImpersonateSMTP(smtp)
	}
	return ews.ConnectingSID{Kind: t.kind, Value: id, Anchor: smtp}
}
