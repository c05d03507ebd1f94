package ews

import "time"

// MaxAvailabilityMailboxes is the most mailboxes one GetUserAvailability
// request may name (more → ErrorMailboxDataArrayTooBig).
const MaxAvailabilityMailboxes = 100

// FreeBusyViewType is t:FreeBusyViewType (the RequestedView values).
type FreeBusyViewType string

// FreeBusyViewType values.
const (
	ViewNone           FreeBusyViewType = "None"
	ViewMergedOnly     FreeBusyViewType = "MergedOnly"
	ViewFreeBusy       FreeBusyViewType = "FreeBusy"
	ViewFreeBusyMerged FreeBusyViewType = "FreeBusyMerged"
	ViewDetailed       FreeBusyViewType = "Detailed"
	ViewDetailedMerged FreeBusyViewType = "DetailedMerged"
)

// TimeChange is a standard/daylight transition of the legacy
// t:SerializableTimeZone: Bias in minutes, Time "hh:mm:ss", DayOrder 1–5,
// Month 1–12.
type TimeChange struct {
	Bias      int
	Time      string
	DayOrder  int
	Month     int
	DayOfWeek DayOfWeek
}

// LegacyTimeZone is t:SerializableTimeZone, the zone GetUserAvailability
// results are expressed in. Bias is minutes west of UTC.
type LegacyTimeZone struct {
	Bias     int
	Standard TimeChange
	Daylight TimeChange
}

// UTCLegacyTimeZone is a zone without offset or daylight saving, so that
// availability times are UTC.
func UTCLegacyTimeZone() LegacyTimeZone {
	return LegacyTimeZone{
		Standard: TimeChange{Time: "00:00:00", DayOrder: 1, Month: 1, DayOfWeek: Sunday},
		Daylight: TimeChange{Time: "00:00:00", DayOrder: 1, Month: 1, DayOfWeek: Sunday},
	}
}

// MailboxData is one mailbox of an availability request (t:MailboxData).
type MailboxData struct {
	Email            Mailbox
	AttendeeType     AttendeeType
	ExcludeConflicts bool
}

// CalendarEventDetails is t:CalendarEventDetails; returned only with enough
// permission and never for private items.
type CalendarEventDetails struct {
	ID            string
	Subject       string
	Location      string
	IsMeeting     bool
	IsRecurring   bool
	IsException   bool
	IsReminderSet bool
	IsPrivate     bool
}

// CalendarEvent is one busy block (t:CalendarEvent). StartTime and EndTime
// are wall-clock times in the request's time zone (returned without offset);
// they carry time.UTC as location, which is exact when the request used
// UTCLegacyTimeZone.
type CalendarEvent struct {
	StartTime time.Time
	EndTime   time.Time
	BusyType  FreeBusyStatus
	Details   *CalendarEventDetails
}

// WorkingPeriod is one t:WorkingPeriod (minutes from local midnight).
type WorkingPeriod struct {
	DaysOfWeek         []DayOfWeek
	StartTimeInMinutes int
	EndTimeInMinutes   int
}

// WorkingHours is t:WorkingHours.
type WorkingHours struct {
	TimeZone LegacyTimeZone
	Periods  []WorkingPeriod
}

// FreeBusyView is one mailbox's availability (t:FreeBusyView).
// MergedFreeBusy holds one digit per interval: 0 Free, 1 Tentative, 2 Busy,
// 3 OOF, and for request versions >= Exchange2013 4 WorkingElsewhere and
// 5 NoData (older versions: 4 NoData); see MergedFreeBusyStatus.
type FreeBusyView struct {
	ViewType       FreeBusyViewType
	MergedFreeBusy string
	CalendarEvents []CalendarEvent
	WorkingHours   *WorkingHours
}

// MergedFreeBusyStatus decodes one MergedFreeBusy digit for the request
// version that produced it. ok is false for an unknown digit.
func MergedFreeBusyStatus(digit byte, v ExchangeVersion) (status FreeBusyStatus, ok bool) {
	switch digit {
	case '0':
		return FreeBusyFree, true
	case '1':
		return FreeBusyTentative, true
	case '2':
		return FreeBusyBusy, true
	case '3':
		return FreeBusyOOF, true
	case '4':
		if v.AtLeast2013() {
			return FreeBusyWorkingElsewhere, true
		}
		return FreeBusyNoData, true
	case '5':
		if v.AtLeast2013() {
			return FreeBusyNoData, true
		}
	}
	return "", false
}
