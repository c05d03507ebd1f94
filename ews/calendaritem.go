package ews

import "time"

// FreeBusyStatus is t:LegacyFreeBusyType. WorkingElsewhere is only reported
// for RequestServerVersion >= Exchange2013 (older versions see Free).
type FreeBusyStatus string

// FreeBusyStatus values.
const (
	FreeBusyFree             FreeBusyStatus = "Free"
	FreeBusyTentative        FreeBusyStatus = "Tentative"
	FreeBusyBusy             FreeBusyStatus = "Busy"
	FreeBusyOOF              FreeBusyStatus = "OOF"
	FreeBusyWorkingElsewhere FreeBusyStatus = "WorkingElsewhere"
	FreeBusyNoData           FreeBusyStatus = "NoData"
)

// Valid reports whether s is one of the schema's values.
func (s FreeBusyStatus) Valid() bool {
	switch s {
	case FreeBusyFree, FreeBusyTentative, FreeBusyBusy, FreeBusyOOF, FreeBusyWorkingElsewhere, FreeBusyNoData:
		return true
	}
	return false
}

// Sensitivity is t:SensitivityChoicesType.
type Sensitivity string

// Sensitivity values.
const (
	SensitivityNormal       Sensitivity = "Normal"
	SensitivityPersonal     Sensitivity = "Personal"
	SensitivityPrivate      Sensitivity = "Private"
	SensitivityConfidential Sensitivity = "Confidential"
)

// Valid reports whether s is one of the schema's values.
func (s Sensitivity) Valid() bool {
	switch s {
	case SensitivityNormal, SensitivityPersonal, SensitivityPrivate, SensitivityConfidential:
		return true
	}
	return false
}

// CalendarItemType is t:CalendarItemTypeType.
type CalendarItemType string

// CalendarItemType values.
const (
	ItemTypeSingle          CalendarItemType = "Single"
	ItemTypeOccurrence      CalendarItemType = "Occurrence"
	ItemTypeException       CalendarItemType = "Exception"
	ItemTypeRecurringMaster CalendarItemType = "RecurringMaster"
)

// Valid reports whether t is one of the schema's values.
func (t CalendarItemType) Valid() bool {
	switch t {
	case ItemTypeSingle, ItemTypeOccurrence, ItemTypeException, ItemTypeRecurringMaster:
		return true
	}
	return false
}

// ResponseType is t:ResponseTypeType, the user's answer to a meeting.
type ResponseType string

// ResponseType values.
const (
	ResponseUnknown            ResponseType = "Unknown"
	ResponseOrganizer          ResponseType = "Organizer"
	ResponseTentative          ResponseType = "Tentative"
	ResponseAccept             ResponseType = "Accept"
	ResponseDecline            ResponseType = "Decline"
	ResponseNoResponseReceived ResponseType = "NoResponseReceived"
)

// Valid reports whether r is one of the schema's values.
func (r ResponseType) Valid() bool {
	switch r {
	case ResponseUnknown, ResponseOrganizer, ResponseTentative, ResponseAccept, ResponseDecline, ResponseNoResponseReceived:
		return true
	}
	return false
}

// AppointmentState is the bit set of t:CalendarItemType/AppointmentState.
type AppointmentState int

// AppointmentState bits.
const (
	AppointmentMeeting   AppointmentState = 1
	AppointmentReceived  AppointmentState = 2
	AppointmentCancelled AppointmentState = 4
	AppointmentForwarded AppointmentState = 8
)

// Has reports whether all bits of b are set.
func (s AppointmentState) Has(b AppointmentState) bool { return s&b == b }

// BodyType is t:BodyTypeType.
type BodyType string

// BodyType values.
const (
	BodyText BodyType = "Text"
	BodyHTML BodyType = "HTML"
)

// Body is an item body (t:BodyType).
type Body struct {
	Type BodyType
	Text string
}

// AttendeeType is the role of a mailbox in an availability request
// (t:MeetingAttendeeType).
type AttendeeType string

// AttendeeType values.
const (
	AttendeeOrganizer AttendeeType = "Organizer"
	AttendeeRequired  AttendeeType = "Required"
	AttendeeOptional  AttendeeType = "Optional"
	AttendeeRoom      AttendeeType = "Room"
	AttendeeResource  AttendeeType = "Resource"
)

// Attendee is a meeting attendee (t:AttendeeType).
type Attendee struct {
	Mailbox          Mailbox
	ResponseType     ResponseType
	LastResponseTime time.Time
}

// OccurrenceInfo describes one occurrence of a series
// (t:OccurrenceInfoType): FirstOccurrence, LastOccurrence and the entries of
// ModifiedOccurrences.
type OccurrenceInfo struct {
	ItemId        ItemId
	Start         time.Time
	End           time.Time
	OriginalStart time.Time
}

// DeletedOccurrence is an entry of DeletedOccurrences
// (t:DeletedOccurrenceInfoType): the original start of a removed occurrence.
type DeletedOccurrence struct {
	Start time.Time
}

// CalendarItem is an appointment or meeting (t:CalendarItemType) with every
// property calsync reads or writes. Times are UTC instants. StartTimeZone and
// EndTimeZone are Windows time zone ids ("W. Europe Standard Time"); all-day
// events are midnight-to-midnight in StartTimeZone.
//
// Zero values mean "not returned" for properties the server omits; use the
// Has* helpers of GetItem responses or request the property explicitly.
type CalendarItem struct {
	ItemId           ItemId
	ParentFolderId   FolderId
	ItemClass        string
	Subject          string
	Sensitivity      Sensitivity
	Body             *Body
	Categories       []string
	Importance       string
	DateTimeCreated  time.Time
	LastModifiedTime time.Time

	UID                       string
	RecurrenceId              time.Time
	DateTimeStamp             time.Time
	Start                     time.Time
	End                       time.Time
	OriginalStart             time.Time
	IsAllDayEvent             bool
	LegacyFreeBusyStatus      FreeBusyStatus
	Location                  string
	IsMeeting                 bool
	IsCancelled               bool
	IsRecurring               bool
	MeetingRequestWasSent     bool
	IsResponseRequested       bool
	CalendarItemType          CalendarItemType
	MyResponseType            ResponseType
	Organizer                 *Mailbox
	RequiredAttendees         []Attendee
	OptionalAttendees         []Attendee
	Resources                 []Attendee
	AppointmentSequenceNumber int
	AppointmentState          AppointmentState
	Recurrence                *Recurrence
	FirstOccurrence           *OccurrenceInfo
	LastOccurrence            *OccurrenceInfo
	ModifiedOccurrences       []OccurrenceInfo
	DeletedOccurrences        []DeletedOccurrence
	StartTimeZone             string
	EndTimeZone               string
	IsOnlineMeeting           bool
	IsOrganizer               bool
	// ExtendedProperties are MAPI properties set or requested by path
	// (t:ExtendedProperty); Exchange returns only those a request names in
	// AdditionalProperties.
	ExtendedProperties []ExtendedProperty
}

// IsCancelledState reports whether the item is cancelled by either signal
// Exchange gives (IsCancelled or AppointmentState bit 4).
func (c *CalendarItem) IsCancelledState() bool {
	return c.IsCancelled || c.AppointmentState.Has(AppointmentCancelled)
}
