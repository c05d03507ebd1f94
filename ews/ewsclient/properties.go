package ewsclient

import (
	"sync"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

// CalendarProperties are the FieldURIs GetItem requests by default: every
// calendar property calsync's engine and presence rules use.
var CalendarProperties = []string{
	"item:ParentFolderId", "item:ItemClass", "item:Subject", "item:Sensitivity", "item:Categories",
	"item:Importance", "item:DateTimeCreated", "item:LastModifiedTime",
	"calendar:UID", "calendar:RecurrenceId", "calendar:DateTimeStamp", "calendar:Start", "calendar:End",
	"calendar:OriginalStart", "calendar:IsAllDayEvent", "calendar:LegacyFreeBusyStatus", "calendar:Location",
	"calendar:IsMeeting", "calendar:IsCancelled", "calendar:IsRecurring", "calendar:MeetingRequestWasSent",
	"calendar:IsResponseRequested", "calendar:CalendarItemType", "calendar:MyResponseType", "calendar:Organizer",
	"calendar:AppointmentSequenceNumber", "calendar:AppointmentState", "calendar:Recurrence",
	"calendar:FirstOccurrence", "calendar:LastOccurrence", "calendar:ModifiedOccurrences",
	"calendar:DeletedOccurrences", "calendar:StartTimeZone", "calendar:EndTimeZone", "calendar:IsOnlineMeeting",
}

// CalendarViewProperties are the FieldURIs FindItem with CalendarView
// requests by default: the cheap, streamable properties (no recurrence
// blobs, attendees or bodies, which FindItem cannot return).
var CalendarViewProperties = []string{
	"item:Subject", "item:Sensitivity", "item:Categories", "item:LastModifiedTime",
	"calendar:UID", "calendar:Start", "calendar:End", "calendar:IsAllDayEvent",
	"calendar:LegacyFreeBusyStatus", "calendar:Location", "calendar:IsMeeting", "calendar:IsCancelled",
	"calendar:IsRecurring", "calendar:CalendarItemType", "calendar:MyResponseType", "calendar:Organizer",
	"calendar:AppointmentState", "calendar:StartTimeZone",
}

// calendarViewPaths is CalendarViewProperties as the request carries them,
// built once: every mailbox's read sends them, and requests only read them.
var calendarViewPaths = sync.OnceValue(func() *ewswire.PathList { return ewswire.Paths(CalendarViewProperties...) })

// Well-known MAPI folder properties used to detect missed changes after a
// lost subscription.
const (
	TagLocalCommitTimeMax = "0x670A" // PR_LOCAL_COMMIT_TIME_MAX, SystemTime
	TagDeletedCountTotal  = "0x670B" // PR_DELETED_COUNT_TOTAL, Integer
)
