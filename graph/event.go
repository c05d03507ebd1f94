package graph

import "time"

// Event is what calsync reads of a Graph event (an occurrence, exception
// or single instance of a calendarView, or an entry of a delta round).
// Delta rounds may carry only some of these fields for occurrences (id,
// seriesMasterId, type, start, end): zero values mean "not sent".
type Event struct {
	// ID is the event id; case-sensitive.
	ID string
	// ETag is @odata.etag; ChangeKey changes on every edit.
	ETag      string
	ChangeKey string
	// ICalUID differs per occurrence; SeriesMasterID is the master's id
	// for occurrences and exceptions.
	ICalUID        string
	SeriesMasterID string
	Type           EventType

	Subject   string
	Location  string
	Organizer string // SMTP address, "" if unknown
	// Categories are the Outlook categories.
	Categories []string

	Start, End DateTimeTimeZone
	IsAllDay   bool
	// OriginalStartTimeZone is the zone the organizer created the event
	// in; may be "tzone://Microsoft/Custom".
	OriginalStartTimeZone string

	ShowAs      ShowAs
	Sensitivity Sensitivity
	Response    Response
	// IsOrganizer and IsCancelled are event flags; HasAttendees is true
	// when the event lists attendees (a meeting rather than an appointment).
	IsOrganizer  bool
	IsCancelled  bool
	HasAttendees bool

	LastModified time.Time
}

// Removed is a delta entry for an event that left the view: deleted, or
// out of the window ("reason": "deleted" or "changed"). Graph also lists
// events outside the window here; the caller filters.
type Removed struct {
	ID     string
	Reason string
}

// Page is one page of a calendarView or delta round.
type Page struct {
	Events  []Event
	Removed []Removed
	// NextLink is the full URL of the next page, "" on the last one.
	NextLink string
	// DeltaLink ends a delta round: the URL of the next round.
	DeltaLink string
}
