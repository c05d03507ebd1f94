package ewsserver

import "github.com/calsync/calsync/ews/internal/ewswire"

// fieldCopiers copies the property a FieldURI names from a full item to
// the answer. BaseShape IdOnly with FieldURIs in AdditionalProperties
// answers exactly those properties, as Exchange does, so that a client
// reading a property it did not ask for finds it missing here too, not
// only on a real server. FieldURIs of properties the codec does not model
// answer nothing.
var fieldCopiers = map[string]func(dst, src *ewswire.CalendarItem){
	"item:ParentFolderId":   func(d, s *ewswire.CalendarItem) { d.ParentFolderId = s.ParentFolderId },
	"item:ItemClass":        func(d, s *ewswire.CalendarItem) { d.ItemClass = s.ItemClass },
	"item:Subject":          func(d, s *ewswire.CalendarItem) { d.Subject = s.Subject },
	"item:Sensitivity":      func(d, s *ewswire.CalendarItem) { d.Sensitivity = s.Sensitivity },
	"item:Body":             func(d, s *ewswire.CalendarItem) { d.Body = s.Body },
	"item:Categories":       func(d, s *ewswire.CalendarItem) { d.Categories = s.Categories },
	"item:Importance":       func(d, s *ewswire.CalendarItem) { d.Importance = s.Importance },
	"item:DateTimeCreated":  func(d, s *ewswire.CalendarItem) { d.DateTimeCreated = s.DateTimeCreated },
	"item:LastModifiedTime": func(d, s *ewswire.CalendarItem) { d.LastModifiedTime = s.LastModifiedTime },

	"calendar:UID":                       func(d, s *ewswire.CalendarItem) { d.UID = s.UID },
	"calendar:RecurrenceId":              func(d, s *ewswire.CalendarItem) { d.RecurrenceId = s.RecurrenceId },
	"calendar:DateTimeStamp":             func(d, s *ewswire.CalendarItem) { d.DateTimeStamp = s.DateTimeStamp },
	"calendar:Start":                     func(d, s *ewswire.CalendarItem) { d.Start = s.Start },
	"calendar:End":                       func(d, s *ewswire.CalendarItem) { d.End = s.End },
	"calendar:OriginalStart":             func(d, s *ewswire.CalendarItem) { d.OriginalStart = s.OriginalStart },
	"calendar:IsAllDayEvent":             func(d, s *ewswire.CalendarItem) { d.IsAllDayEvent = s.IsAllDayEvent },
	"calendar:LegacyFreeBusyStatus":      func(d, s *ewswire.CalendarItem) { d.LegacyFreeBusyStatus = s.LegacyFreeBusyStatus },
	"calendar:Location":                  func(d, s *ewswire.CalendarItem) { d.Location = s.Location },
	"calendar:IsMeeting":                 func(d, s *ewswire.CalendarItem) { d.IsMeeting = s.IsMeeting },
	"calendar:IsCancelled":               func(d, s *ewswire.CalendarItem) { d.IsCancelled = s.IsCancelled },
	"calendar:IsRecurring":               func(d, s *ewswire.CalendarItem) { d.IsRecurring = s.IsRecurring },
	"calendar:MeetingRequestWasSent":     func(d, s *ewswire.CalendarItem) { d.MeetingRequestWasSent = s.MeetingRequestWasSent },
	"calendar:IsResponseRequested":       func(d, s *ewswire.CalendarItem) { d.IsResponseRequested = s.IsResponseRequested },
	"calendar:CalendarItemType":          func(d, s *ewswire.CalendarItem) { d.CalendarItemType = s.CalendarItemType },
	"calendar:MyResponseType":            func(d, s *ewswire.CalendarItem) { d.MyResponseType = s.MyResponseType },
	"calendar:Organizer":                 func(d, s *ewswire.CalendarItem) { d.Organizer = s.Organizer },
	"calendar:RequiredAttendees":         func(d, s *ewswire.CalendarItem) { d.RequiredAttendees = s.RequiredAttendees },
	"calendar:OptionalAttendees":         func(d, s *ewswire.CalendarItem) { d.OptionalAttendees = s.OptionalAttendees },
	"calendar:Resources":                 func(d, s *ewswire.CalendarItem) { d.Resources = s.Resources },
	"calendar:AppointmentSequenceNumber": func(d, s *ewswire.CalendarItem) { d.AppointmentSequenceNumber = s.AppointmentSequenceNumber },
	"calendar:AppointmentState":          func(d, s *ewswire.CalendarItem) { d.AppointmentState = s.AppointmentState },
	"calendar:Recurrence":                func(d, s *ewswire.CalendarItem) { d.Recurrence = s.Recurrence },
	"calendar:FirstOccurrence":           func(d, s *ewswire.CalendarItem) { d.FirstOccurrence = s.FirstOccurrence },
	"calendar:LastOccurrence":            func(d, s *ewswire.CalendarItem) { d.LastOccurrence = s.LastOccurrence },
	"calendar:ModifiedOccurrences":       func(d, s *ewswire.CalendarItem) { d.ModifiedOccurrences = s.ModifiedOccurrences },
	"calendar:DeletedOccurrences":        func(d, s *ewswire.CalendarItem) { d.DeletedOccurrences = s.DeletedOccurrences },
	"calendar:StartTimeZone":             func(d, s *ewswire.CalendarItem) { d.StartTimeZone = s.StartTimeZone },
	"calendar:EndTimeZone":               func(d, s *ewswire.CalendarItem) { d.EndTimeZone = s.EndTimeZone },
	"calendar:IsOnlineMeeting":           func(d, s *ewswire.CalendarItem) { d.IsOnlineMeeting = s.IsOnlineMeeting },
	"calendar:StartTimeZoneId": func(d, s *ewswire.CalendarItem) {
		if s.StartTimeZone != nil {
			d.StartTimeZoneId = s.StartTimeZone.Id
		}
	},
	"calendar:EndTimeZoneId": func(d, s *ewswire.CalendarItem) {
		if s.EndTimeZone != nil {
			d.EndTimeZoneId = s.EndTimeZone.Id
		}
	},
}

// selectFields keeps the id, the extended properties and the properties
// fields names of a full item.
func selectFields(full *ewswire.CalendarItem, fields []string) *ewswire.CalendarItem {
	out := &ewswire.CalendarItem{ItemId: full.ItemId, ExtendedProperty: full.ExtendedProperty}
	for _, f := range fields {
		if copyField, ok := fieldCopiers[f]; ok {
			copyField(out, full)
		}
	}
	return out
}
