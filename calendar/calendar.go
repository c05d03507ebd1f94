// Package calendar is calsync's own calendar model: expanded occurrences,
// free/busy states, sensitivity, response types and automatic-reply settings.
//
// It knows nothing about XML or EWS. The engine converts EWS calendar items
// into these types (see engine), the store persists them, and presence
// evaluates them. All instants are time.Time values; the store keeps them in
// UTC.
package calendar

import (
	"fmt"
	"time"
)

// FreeBusy is how an appointment shows the owner's time (EWS LegacyFreeBusyStatus).
type FreeBusy string

// FreeBusy values, in EWS spelling.
const (
	Free             FreeBusy = "Free"
	Tentative        FreeBusy = "Tentative"
	Busy             FreeBusy = "Busy"
	OutOfOffice      FreeBusy = "OOF"
	WorkingElsewhere FreeBusy = "WorkingElsewhere"
	NoData           FreeBusy = "NoData"
)

// Sensitivity marks private or confidential appointments.
type Sensitivity string

// Sensitivity values, in EWS spelling.
const (
	Normal       Sensitivity = "Normal"
	Personal     Sensitivity = "Personal"
	Private      Sensitivity = "Private"
	Confidential Sensitivity = "Confidential"
)

// IsMasked reports whether subject and location must be hidden by default.
func (s Sensitivity) IsMasked() bool { return s == Private || s == Confidential }

// ItemKind is the EWS CalendarItemType of an expanded occurrence.
type ItemKind string

// ItemKind values, in EWS spelling.
const (
	KindSingle     ItemKind = "Single"
	KindOccurrence ItemKind = "Occurrence"
	KindException  ItemKind = "Exception"
)

// ResponseType is the mailbox owner's answer to a meeting (EWS MyResponseType).
type ResponseType string

// ResponseType values, in EWS spelling.
const (
	ResponseUnknown    ResponseType = "Unknown"
	ResponseOrganizer  ResponseType = "Organizer"
	ResponseTentative  ResponseType = "Tentative"
	ResponseAccept     ResponseType = "Accept"
	ResponseDecline    ResponseType = "Decline"
	ResponseNoResponse ResponseType = "NoResponseReceived"
)

// Occurrence is one appointment instance in a mailbox's calendar window, as
// a CalendarView returns it: a single item, an occurrence of a recurring
// series, or an exception.
type Occurrence struct {
	// ItemID is the EWS item id of this instance (unique within a mailbox).
	ItemID string
	// ChangeKey is the EWS change key at the time it was read.
	ChangeKey string
	// MasterID is the id of the recurring master, empty for single items.
	MasterID string
	// UID is the iCalendar UID shared by all copies of a meeting.
	UID string
	// Kind is Single, Occurrence or Exception.
	Kind ItemKind

	Subject    string
	Location   string
	Organizer  string // SMTP address, empty if unknown
	Categories []string

	Start time.Time
	End   time.Time
	// AllDay marks an all-day event; Start and End are then local midnights
	// in TimeZone (converted to UTC).
	AllDay bool
	// TimeZone is the IANA zone of the item's start (from StartTimeZone),
	// empty if unknown.
	TimeZone string

	FreeBusy    FreeBusy
	Sensitivity Sensitivity
	Response    ResponseType
	// IsMeeting is true for meetings (with attendees), false for plain appointments.
	IsMeeting bool
	// Cancelled is true when the organizer cancelled the meeting.
	Cancelled bool
}

// Validate checks the invariants the rest of calsync relies on.
func (o Occurrence) Validate() error {
	if o.ItemID == "" {
		return fmt.Errorf("calendar: occurrence without item id")
	}
	if o.End.Before(o.Start) {
		return fmt.Errorf("calendar: occurrence %q ends (%s) before it starts (%s)", o.ItemID, o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339))
	}
	return nil
}

// Overlaps reports whether the occurrence overlaps the half-open range [start, end)
// with the CalendarView semantics: it ends after start and starts before end.
func (o Occurrence) Overlaps(start, end time.Time) bool {
	return o.End.After(start) && o.Start.Before(end) || (o.Start.Equal(o.End) && !o.Start.Before(start) && o.Start.Before(end))
}

// Window is a half-open time range [Start, End).
type Window struct {
	Start time.Time
	End   time.Time
}

// Contains reports whether t lies in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// IsZero reports whether the window is unset.
func (w Window) IsZero() bool { return w.Start.IsZero() && w.End.IsZero() }

// OOFState is the automatic-replies state of a mailbox (EWS OofState).
type OOFState string

// OOFState values, in EWS spelling.
const (
	OOFDisabled  OOFState = "Disabled"
	OOFEnabled   OOFState = "Enabled"
	OOFScheduled OOFState = "Scheduled"
)

// OOFSettings is a mailbox's automatic-replies configuration.
type OOFSettings struct {
	State OOFState
	// Start and End bound a Scheduled reply; EWS sends them in every state,
	// they only count when State is OOFScheduled.
	Start         time.Time
	End           time.Time
	InternalReply string
}

// ActiveAt reports whether automatic replies are on at t.
func (s OOFSettings) ActiveAt(t time.Time) bool {
	switch s.State {
	case OOFEnabled:
		return true
	case OOFScheduled:
		return !t.Before(s.Start) && t.Before(s.End)
	}
	return false
}
