// Package directory provides the users calsync syncs: a static list, a CSV
// file, or the members of an Active Directory / LDAP group (nested groups,
// paged search, LDAPS and StartTLS). A Watcher re-reads a Source
// periodically and reports additions and removals, so that users reach the
// engine without a restart.
package directory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// User is one mailbox to sync.
type User struct {
	// SMTP is the primary SMTP address (required).
	SMTP string
	// DisplayName is for people (dashboards, logs); may be empty.
	DisplayName string
	// UPN is the user principal name, when the source knows it.
	UPN string
	// SID is the security identifier (S-1-5-21-…), when the source knows it.
	SID string
	// RecipientTypeDetails is Exchange's msExchRecipientTypeDetails from
	// AD (0 when the source does not know it): where the mailbox lives in a
	// hybrid organisation (see CloudMailbox).
	RecipientTypeDetails int64
	// SIPAddress is the user's SIP address (sip:alice@example.com) when
	// the source has one (a CSV column, an LDAP attribute such as
	// msRTCSIP-PrimaryUserAddress): the SIP connector publishes the user's
	// presence to it instead of the presentity template's URI.
	SIPAddress string
}

// NormalizeSIPAddress returns s as a sip: URI: trimmed, "sip:" added when
// it has no scheme (AD holds either form). ok is false when s is not a
// user@host address.
func NormalizeSIPAddress(s string) (uri string, ok bool) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sip:"), strings.HasPrefix(lower, "sips:"):
	default:
		s = "sip:" + s
	}
	_, addr, _ := strings.Cut(s, ":")
	local, host, found := strings.Cut(addr, "@")
	if !found || local == "" || host == "" || strings.ContainsAny(addr, " \t<>\"") {
		return "", false
	}
	return s, true
}

// Recipient types of msExchRecipientTypeDetails that say where a mailbox
// lives (graph-facts.md §6): a mailbox moved to Exchange Online becomes a
// remote mailbox in the on-premises AD.
const (
	RecipientUserMailbox            = 1
	RecipientSharedMailbox          = 4
	RecipientRoomMailbox            = 16
	RecipientEquipmentMailbox       = 32
	RecipientRemoteRoomMailbox      = 536870912
	RecipientRemoteEquipmentMailbox = 1073741824
	RecipientRemoteUserMailbox      = 2147483648
	RecipientRemoteSharedMailbox    = 34359738368
)

// CloudMailbox says where the directory puts the user's mailbox: in
// Exchange Online (a remote mailbox), on premises, or — known false —
// it does not say.
func (u User) CloudMailbox() (cloud, known bool) {
	switch u.RecipientTypeDetails {
	case RecipientRemoteUserMailbox, RecipientRemoteSharedMailbox, RecipientRemoteRoomMailbox, RecipientRemoteEquipmentMailbox:
		return true, true
	case RecipientUserMailbox, RecipientSharedMailbox, RecipientRoomMailbox, RecipientEquipmentMailbox:
		return false, true
	}
	return false, false
}

// Key is the identity of a user in diffs: the SMTP address, lower-cased.
func (u User) Key() string { return strings.ToLower(u.SMTP) }

// Source lists the users to sync.
type Source interface {
	// Users returns the current users, sorted by SMTP address, without
	// duplicates. On error no user list is returned: callers keep the last
	// good one.
	Users(ctx context.Context) ([]User, error)
}

// ErrInvalidUser is wrapped by errors about malformed user entries.
var ErrInvalidUser = errors.New("directory: invalid user")

// Static is a fixed list of users.
type Static []User

// NewStatic returns a static source of SMTP addresses. Duplicates
// (case-insensitive) are dropped; a malformed address is an error.
func NewStatic(addresses []string) (Static, error) {
	var users []User
	var errs []error
	for i, a := range addresses {
		a = strings.TrimSpace(a)
		if !validSMTP(a) {
			errs = append(errs, fmt.Errorf("%w: entry %d: %q is not an SMTP address", ErrInvalidUser, i+1, a))
			continue
		}
		users = append(users, User{SMTP: a})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return Static(normalize(users)), nil
}

// Users returns a copy of the list.
func (s Static) Users(context.Context) ([]User, error) {
	return append([]User(nil), s...), nil
}

// Multi combines sources: the union of their users, deduplicated by SMTP
// address (the first source that lists a user wins). Any source failing
// fails the whole, so that a directory outage never looks like removals.
type Multi []Source

// Users queries every source in order.
func (m Multi) Users(ctx context.Context) ([]User, error) {
	var all []User
	for _, s := range m {
		us, err := s.Users(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, us...)
	}
	return normalize(all), nil
}

// normalize drops duplicates (first wins) and sorts by SMTP address.
func normalize(users []User) []User {
	type keyed struct {
		key  string
		user User
	}
	seen := make(map[string]bool, len(users))
	out := make([]keyed, 0, len(users))
	for _, u := range users {
		k := u.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, keyed{k, u})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	result := make([]User, len(out))
	for i, k := range out {
		result[i] = k.user
	}
	return result
}

// validSMTP accepts local@domain without spaces or list separators.
func validSMTP(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@") &&
		!strings.ContainsAny(s, " \t\r\n<>,;\"")
}

// Diff compares two user lists by Key and returns the users only in next
// (added) and only in prev (removed), each sorted.
func Diff(prev, next []User) (added, removed []User) {
	old := make(map[string]bool, len(prev))
	for _, u := range prev {
		old[u.Key()] = true
	}
	cur := make(map[string]bool, len(next))
	for _, u := range next {
		cur[u.Key()] = true
		if !old[u.Key()] {
			added = append(added, u)
		}
	}
	for _, u := range prev {
		if !cur[u.Key()] {
			removed = append(removed, u)
		}
	}
	return normalize(added), normalize(removed)
}
