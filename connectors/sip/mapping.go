package sip

import (
	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/connectors/sip/pidf"
)

// Look is how one availability (or presence profile) appears in the PIDF
// document: basic status, RPID activities and note.
type Look struct {
	// Closed publishes basic status "closed" (not reachable) instead of "open".
	Closed bool
	// Activities are RPID activity tokens (RFC 4480), in order.
	Activities []string
	// Note is the status text shown; empty means calsync's status text.
	Note string
	// Withdraw publishes nothing for this state: the publication is
	// removed, so watchers see no calendar information (calsync never
	// guesses when it has no trustworthy data).
	Withdraw bool
}

// Mapping maps presence profiles and availabilities to looks. A user's
// profile is looked up first (a rule's profile such as dnd), then the
// availability; an unmapped state publishes "open" with the status text.
type Mapping map[string]Look

// DefaultMapping is the mapping docs/operations.md documents. RFC 4480
// has no tokens for tentative, working elsewhere or do-not-disturb; the
// closest are used, with the status text saying the rest.
func DefaultMapping() Mapping {
	return Mapping{
		"available":         {},
		"busy":              {Activities: []string{"busy", "meeting"}},
		"tentative":         {Activities: []string{"appointment"}},
		"out_of_office":     {Activities: []string{"vacation", "away"}},
		"working_elsewhere": {Activities: []string{"other"}},
		"dnd":               {Activities: []string{"busy"}, Note: "Do not disturb"},
		"do_not_disturb":    {Activities: []string{"busy"}, Note: "Do not disturb"},
		"unknown":           {Withdraw: true},
	}
}

// With returns the default mapping with overrides replacing whole entries.
func (m Mapping) With(overrides Mapping) Mapping {
	out := make(Mapping, len(m)+len(overrides))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

// look returns the look of a state.
func (m Mapping) look(s connectors.State) Look {
	if s.Profile != "" {
		if l, ok := m[s.Profile]; ok {
			return l
		}
	}
	return m[s.Availability]
}

// document builds the PIDF of a state for entity; ok is false when the
// state withdraws the publication.
func (m Mapping) document(entity string, s connectors.State) (pidf.Document, bool) {
	l := m.look(s)
	if l.Withdraw {
		return pidf.Document{}, false
	}
	note := l.Note
	if note == "" {
		note = s.StatusText
	}
	return pidf.Document{Entity: entity, Open: !l.Closed, Activities: l.Activities, Note: note, TupleID: "calsync"}, true
}

// CheckActivity returns an error naming the valid tokens when a is not an
// RFC 4480 activity.
func CheckActivity(a string) error { return pidf.CheckActivity(a) }
