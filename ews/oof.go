package ews

import "time"

// OofState is t:OofState.
type OofState string

// OofState values.
const (
	OofDisabled  OofState = "Disabled"
	OofEnabled   OofState = "Enabled"
	OofScheduled OofState = "Scheduled"
)

// ExternalAudience is t:ExternalAudience.
type ExternalAudience string

// ExternalAudience values.
const (
	AudienceNone  ExternalAudience = "None"
	AudienceKnown ExternalAudience = "Known"
	AudienceAll   ExternalAudience = "All"
)

// OofSettings is t:UserOofSettings. Start and End (Duration) are UTC and
// present even when State is not Scheduled; they only count for Scheduled.
type OofSettings struct {
	State            OofState
	ExternalAudience ExternalAudience
	Start            time.Time
	End              time.Time
	InternalReply    string
	ExternalReply    string
	// AllowExternalOof is the mailbox policy (None, Known, All), if returned.
	AllowExternalOof string
}

// ActiveAt reports whether automatic replies are on at t: Enabled, or
// Scheduled with t in [Start, End).
func (s OofSettings) ActiveAt(t time.Time) bool {
	switch s.State {
	case OofEnabled:
		return true
	case OofScheduled:
		return !t.Before(s.Start) && t.Before(s.End)
	}
	return false
}
