package presence

import "time"

// Availability is the presence state of a user.
type Availability string

// Availability values, ordered by priority when appointments overlap:
// out_of_office > busy > working_elsewhere > tentative > available.
const (
	Available        Availability = "available"
	Tentative        Availability = "tentative"
	Busy             Availability = "busy"
	OutOfOffice      Availability = "out_of_office"
	WorkingElsewhere Availability = "working_elsewhere"
	// Unknown means calsync has no trustworthy data (never synced, sync
	// failing): it never guesses.
	Unknown Availability = "unknown"
)

// Presence is the computed presence of one user at one instant, with the
// reason and the next planned transition. It is what the API, SSE stream,
// webhooks and dashboard publish.
type Presence struct {
	User         string       `json:"user"`
	Availability Availability `json:"availability"`
	// Profile is the presence profile name chosen by the matching rule.
	Profile string `json:"profile,omitempty"`
	// StatusText is the rendered status text ("In a meeting until 15:00").
	StatusText string `json:"status_text,omitempty"`
	// ForwardTo is the optional call-forwarding target of the matching rule.
	ForwardTo string `json:"forward_to,omitempty"`
	// Since is when this presence began (start of the current block), zero
	// when that is not known (the block began before the loaded range).
	Since time.Time `json:"since,omitzero"`
	// Until is the end of the contiguous block, zero if open-ended.
	Until time.Time `json:"until,omitzero"`
	// TimeZone is the IANA zone the status text and all-day items were
	// evaluated in: the mailbox's own, else the rule set's time_zone.
	TimeZone string `json:"time_zone,omitempty"`
	// Why explains the presence.
	Why Reason `json:"why"`
	// Next is the next scheduled transition, nil if none in the window.
	Next *Transition `json:"next,omitempty"`
	// ComputedAt is the instant the presence was evaluated for.
	ComputedAt time.Time `json:"computed_at"`
}

// Reason says which input and which rule produced a presence.
type Reason struct {
	// Source is "calendar", "automatic_replies", "override", "no_data" or "free".
	Source string `json:"source"`
	// Rule is the name of the rule that matched, empty for built-in decisions.
	Rule string `json:"rule,omitempty"`
	// ItemID, Subject, Start, End describe the deciding occurrence; Subject
	// is empty when privacy masks it.
	ItemID  string    `json:"item_id,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Start   time.Time `json:"start,omitempty"`
	End     time.Time `json:"end,omitempty"`
	// Detail is a human sentence ("private appointment, subject hidden").
	Detail string `json:"detail,omitempty"`
}

// Transition is a planned change of presence.
type Transition struct {
	At           time.Time    `json:"at"`
	Availability Availability `json:"availability"`
	StatusText   string       `json:"status_text,omitempty"`
}

// Change is emitted by the scheduler when a user's published presence changes.
type Change struct {
	User     string    `json:"user"`
	Previous *Presence `json:"previous,omitempty"`
	Current  Presence  `json:"current"`
	At       time.Time `json:"at"`
}
