package ewswire

import (
	"fmt"
	"strings"

	"github.com/calsync/calsync/ews"
)

// CalendarItem is t:CalendarItemType ([MS-OXWSMTGS] 2.2.4.3) restricted to
// the properties calsync reads and writes, in XSD sequence order (the
// t:ItemType base elements first). Other elements are skipped on decode.
type CalendarItem struct {
	ItemId           *ItemId            `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId,omitempty"`
	ParentFolderId   *FolderId          `xml:"http://schemas.microsoft.com/exchange/services/2006/types ParentFolderId,omitempty"`
	ItemClass        string             `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemClass,omitempty"`
	Subject          *string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Subject,omitempty"`
	Sensitivity      string             `xml:"http://schemas.microsoft.com/exchange/services/2006/types Sensitivity,omitempty"`
	Body             *Body              `xml:"http://schemas.microsoft.com/exchange/services/2006/types Body,omitempty"`
	Categories       *StringArray       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Categories,omitempty"`
	Importance       string             `xml:"http://schemas.microsoft.com/exchange/services/2006/types Importance,omitempty"`
	DateTimeCreated  *DateTime          `xml:"http://schemas.microsoft.com/exchange/services/2006/types DateTimeCreated,omitempty"`
	ExtendedProperty []ExtendedProperty `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty,omitempty"`
	LastModifiedTime *DateTime          `xml:"http://schemas.microsoft.com/exchange/services/2006/types LastModifiedTime,omitempty"`

	UID                       string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types UID,omitempty"`
	RecurrenceId              *DateTime           `xml:"http://schemas.microsoft.com/exchange/services/2006/types RecurrenceId,omitempty"`
	DateTimeStamp             *DateTime           `xml:"http://schemas.microsoft.com/exchange/services/2006/types DateTimeStamp,omitempty"`
	Start                     *DateTime           `xml:"http://schemas.microsoft.com/exchange/services/2006/types Start,omitempty"`
	End                       *DateTime           `xml:"http://schemas.microsoft.com/exchange/services/2006/types End,omitempty"`
	OriginalStart             *DateTime           `xml:"http://schemas.microsoft.com/exchange/services/2006/types OriginalStart,omitempty"`
	IsAllDayEvent             *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsAllDayEvent,omitempty"`
	LegacyFreeBusyStatus      string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types LegacyFreeBusyStatus,omitempty"`
	Location                  *string             `xml:"http://schemas.microsoft.com/exchange/services/2006/types Location,omitempty"`
	IsMeeting                 *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsMeeting,omitempty"`
	IsCancelled               *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsCancelled,omitempty"`
	IsRecurring               *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsRecurring,omitempty"`
	MeetingRequestWasSent     *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types MeetingRequestWasSent,omitempty"`
	IsResponseRequested       *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsResponseRequested,omitempty"`
	CalendarItemType          string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarItemType,omitempty"`
	MyResponseType            string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types MyResponseType,omitempty"`
	Organizer                 *SingleRecipient    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Organizer,omitempty"`
	RequiredAttendees         *Attendees          `xml:"http://schemas.microsoft.com/exchange/services/2006/types RequiredAttendees,omitempty"`
	OptionalAttendees         *Attendees          `xml:"http://schemas.microsoft.com/exchange/services/2006/types OptionalAttendees,omitempty"`
	Resources                 *Attendees          `xml:"http://schemas.microsoft.com/exchange/services/2006/types Resources,omitempty"`
	AppointmentSequenceNumber *int                `xml:"http://schemas.microsoft.com/exchange/services/2006/types AppointmentSequenceNumber,omitempty"`
	AppointmentState          *int                `xml:"http://schemas.microsoft.com/exchange/services/2006/types AppointmentState,omitempty"`
	Recurrence                *Recurrence         `xml:"http://schemas.microsoft.com/exchange/services/2006/types Recurrence,omitempty"`
	FirstOccurrence           *OccurrenceInfo     `xml:"http://schemas.microsoft.com/exchange/services/2006/types FirstOccurrence,omitempty"`
	LastOccurrence            *OccurrenceInfo     `xml:"http://schemas.microsoft.com/exchange/services/2006/types LastOccurrence,omitempty"`
	ModifiedOccurrences       *Occurrences        `xml:"http://schemas.microsoft.com/exchange/services/2006/types ModifiedOccurrences,omitempty"`
	DeletedOccurrences        *DeletedOccs        `xml:"http://schemas.microsoft.com/exchange/services/2006/types DeletedOccurrences,omitempty"`
	StartTimeZone             *TimeZoneDefinition `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTimeZone,omitempty"`
	EndTimeZone               *TimeZoneDefinition `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTimeZone,omitempty"`
	IsOnlineMeeting           *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsOnlineMeeting,omitempty"`
	StartTimeZoneId           string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTimeZoneId,omitempty"`
	EndTimeZoneId             string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTimeZoneId,omitempty"`
	IsOrganizer               *bool               `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsOrganizer,omitempty"`
}

// Body is t:BodyType.
type Body struct {
	BodyType string `xml:"BodyType,attr"`
	Text     string `xml:",chardata"`
}

// StringArray is t:ArrayOfStringsType.
type StringArray struct {
	String []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types String"`
}

// SingleRecipient is t:SingleRecipientType.
type SingleRecipient struct {
	Mailbox EmailAddress `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
}

// Attendees is t:NonEmptyArrayOfAttendeesType.
type Attendees struct {
	Attendee []Attendee `xml:"http://schemas.microsoft.com/exchange/services/2006/types Attendee"`
}

// Attendee is t:AttendeeType.
type Attendee struct {
	Mailbox          EmailAddress `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
	ResponseType     string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types ResponseType,omitempty"`
	LastResponseTime *DateTime    `xml:"http://schemas.microsoft.com/exchange/services/2006/types LastResponseTime,omitempty"`
}

// OccurrenceInfo is t:OccurrenceInfoType.
type OccurrenceInfo struct {
	ItemId        ItemId    `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
	Start         *DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types Start"`
	End           *DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types End"`
	OriginalStart *DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types OriginalStart"`
}

// Occurrences is t:NonEmptyArrayOfOccurrenceInfoType.
type Occurrences struct {
	Occurrence []OccurrenceInfo `xml:"http://schemas.microsoft.com/exchange/services/2006/types Occurrence"`
}

// DeletedOccs is t:NonEmptyArrayOfDeletedOccurrencesType.
type DeletedOccs struct {
	DeletedOccurrence []DeletedOccurrence `xml:"http://schemas.microsoft.com/exchange/services/2006/types DeletedOccurrence"`
}

// DeletedOccurrence is t:DeletedOccurrenceInfoType.
type DeletedOccurrence struct {
	Start *DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types Start"`
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func strPtr(s string) *string { return &s }

// ToEWS converts a wire calendar item, checking the values that matter:
// enumerations must be known and End must not precede Start.
func (c *CalendarItem) ToEWS() (ews.CalendarItem, error) {
	out := ews.CalendarItem{
		ItemId:                    c.ItemId.ToEWS(),
		ParentFolderId:            c.ParentFolderId.ToEWS(),
		ItemClass:                 c.ItemClass,
		Subject:                   strOf(c.Subject),
		Sensitivity:               ews.Sensitivity(c.Sensitivity),
		Importance:                c.Importance,
		DateTimeCreated:           timeOf(c.DateTimeCreated),
		LastModifiedTime:          timeOf(c.LastModifiedTime),
		UID:                       c.UID,
		RecurrenceId:              timeOf(c.RecurrenceId),
		DateTimeStamp:             timeOf(c.DateTimeStamp),
		Start:                     timeOf(c.Start),
		End:                       timeOf(c.End),
		OriginalStart:             timeOf(c.OriginalStart),
		IsAllDayEvent:             boolOf(c.IsAllDayEvent),
		LegacyFreeBusyStatus:      ews.FreeBusyStatus(c.LegacyFreeBusyStatus),
		Location:                  strOf(c.Location),
		IsMeeting:                 boolOf(c.IsMeeting),
		IsCancelled:               boolOf(c.IsCancelled),
		IsRecurring:               boolOf(c.IsRecurring),
		MeetingRequestWasSent:     boolOf(c.MeetingRequestWasSent),
		IsResponseRequested:       boolOf(c.IsResponseRequested),
		CalendarItemType:          ews.CalendarItemType(c.CalendarItemType),
		MyResponseType:            ews.ResponseType(c.MyResponseType),
		AppointmentSequenceNumber: intOf(c.AppointmentSequenceNumber),
		AppointmentState:          ews.AppointmentState(intOf(c.AppointmentState)),
		IsOnlineMeeting:           boolOf(c.IsOnlineMeeting),
		IsOrganizer:               boolOf(c.IsOrganizer),
		ExtendedProperties:        extendedToEWS(c.ExtendedProperty),
	}
	if out.Sensitivity != "" && !out.Sensitivity.Valid() {
		return out, fmt.Errorf("ewswire: calendar item %s: unknown Sensitivity %q", c.idText(), c.Sensitivity)
	}
	if out.LegacyFreeBusyStatus != "" && !out.LegacyFreeBusyStatus.Valid() {
		return out, fmt.Errorf("ewswire: calendar item %s: unknown LegacyFreeBusyStatus %q", c.idText(), c.LegacyFreeBusyStatus)
	}
	if out.CalendarItemType != "" && !out.CalendarItemType.Valid() {
		return out, fmt.Errorf("ewswire: calendar item %s: unknown CalendarItemType %q", c.idText(), c.CalendarItemType)
	}
	if out.MyResponseType != "" && !out.MyResponseType.Valid() {
		return out, fmt.Errorf("ewswire: calendar item %s: unknown MyResponseType %q", c.idText(), c.MyResponseType)
	}
	if !out.Start.IsZero() && !out.End.IsZero() && out.End.Before(out.Start) {
		return out, fmt.Errorf("ewswire: calendar item %s: End %s is before Start %s", c.idText(), out.End.Format("2006-01-02T15:04:05Z07:00"), out.Start.Format("2006-01-02T15:04:05Z07:00"))
	}
	if c.Body != nil {
		out.Body = &ews.Body{Type: ews.BodyType(c.Body.BodyType), Text: c.Body.Text}
	}
	if c.Categories != nil {
		out.Categories = append([]string(nil), c.Categories.String...)
	}
	if c.Organizer != nil {
		m := c.Organizer.Mailbox.ToEWS()
		out.Organizer = &m
	}
	out.RequiredAttendees = attendeesToEWS(c.RequiredAttendees)
	out.OptionalAttendees = attendeesToEWS(c.OptionalAttendees)
	out.Resources = attendeesToEWS(c.Resources)
	if c.Recurrence != nil {
		r, err := c.Recurrence.ToEWS()
		if err != nil {
			return out, fmt.Errorf("ewswire: calendar item %s: %w", c.idText(), err)
		}
		out.Recurrence = &r
	}
	if c.FirstOccurrence != nil {
		o := c.FirstOccurrence.toEWS()
		out.FirstOccurrence = &o
	}
	if c.LastOccurrence != nil {
		o := c.LastOccurrence.toEWS()
		out.LastOccurrence = &o
	}
	if c.ModifiedOccurrences != nil {
		for _, o := range c.ModifiedOccurrences.Occurrence {
			out.ModifiedOccurrences = append(out.ModifiedOccurrences, o.toEWS())
		}
	}
	if c.DeletedOccurrences != nil {
		for _, d := range c.DeletedOccurrences.DeletedOccurrence {
			out.DeletedOccurrences = append(out.DeletedOccurrences, ews.DeletedOccurrence{Start: timeOf(d.Start)})
		}
	}
	out.StartTimeZone = c.StartTimeZoneId
	if c.StartTimeZone != nil && c.StartTimeZone.Id != "" {
		out.StartTimeZone = c.StartTimeZone.Id
	}
	out.EndTimeZone = c.EndTimeZoneId
	if c.EndTimeZone != nil && c.EndTimeZone.Id != "" {
		out.EndTimeZone = c.EndTimeZone.Id
	}
	return out, nil
}

func (c *CalendarItem) idText() string {
	if c.ItemId == nil {
		return "(no id)"
	}
	id := c.ItemId.Id
	if len(id) > 24 {
		id = "…" + id[len(id)-24:]
	}
	return id
}

func (o *OccurrenceInfo) toEWS() ews.OccurrenceInfo {
	return ews.OccurrenceInfo{ItemId: o.ItemId.ToEWS(), Start: timeOf(o.Start), End: timeOf(o.End), OriginalStart: timeOf(o.OriginalStart)}
}

func attendeesToEWS(a *Attendees) []ews.Attendee {
	if a == nil {
		return nil
	}
	out := make([]ews.Attendee, 0, len(a.Attendee))
	for _, w := range a.Attendee {
		out = append(out, ews.Attendee{Mailbox: w.Mailbox.ToEWS(), ResponseType: ews.ResponseType(w.ResponseType), LastResponseTime: timeOf(w.LastResponseTime)})
	}
	return out
}

func attendeesFrom(list []ews.Attendee) *Attendees {
	if len(list) == 0 {
		return nil
	}
	a := &Attendees{}
	for _, x := range list {
		a.Attendee = append(a.Attendee, Attendee{Mailbox: EmailAddressFrom(x.Mailbox), ResponseType: string(x.ResponseType), LastResponseTime: NewDateTime(x.LastResponseTime)})
	}
	return a
}

// CalendarItemForCreate converts an ews item into the properties a client
// may set on CreateItem (read-only properties such as ItemId,
// CalendarItemType, MyResponseType, occurrences and DateTimeStamp are left
// out). Start and End are required and End must not precede Start.
func CalendarItemForCreate(c ews.CalendarItem) (*CalendarItem, error) {
	if c.Start.IsZero() || c.End.IsZero() {
		return nil, fmt.Errorf("ewswire: calendar item needs Start and End")
	}
	if c.End.Before(c.Start) {
		return nil, fmt.Errorf("ewswire: calendar item End %s is before Start %s", c.End, c.Start)
	}
	w := &CalendarItem{
		Subject:              strPtr(c.Subject),
		Start:                NewDateTime(c.Start),
		End:                  NewDateTime(c.End),
		IsAllDayEvent:        boolPtr(c.IsAllDayEvent),
		LegacyFreeBusyStatus: string(c.LegacyFreeBusyStatus),
		RequiredAttendees:    attendeesFrom(c.RequiredAttendees),
		OptionalAttendees:    attendeesFrom(c.OptionalAttendees),
		Resources:            attendeesFrom(c.Resources),
		UID:                  c.UID,
		ExtendedProperty:     extendedFrom(c.ExtendedProperties),
	}
	if c.ItemClass != "" {
		w.ItemClass = c.ItemClass
	}
	if c.Sensitivity != "" {
		if !c.Sensitivity.Valid() {
			return nil, fmt.Errorf("ewswire: unknown Sensitivity %q", c.Sensitivity)
		}
		w.Sensitivity = string(c.Sensitivity)
	}
	if c.LegacyFreeBusyStatus != "" && !c.LegacyFreeBusyStatus.Valid() {
		return nil, fmt.Errorf("ewswire: unknown LegacyFreeBusyStatus %q", c.LegacyFreeBusyStatus)
	}
	if c.Body != nil {
		bt := c.Body.Type
		if bt == "" {
			bt = ews.BodyText
		}
		w.Body = &Body{BodyType: string(bt), Text: c.Body.Text}
	}
	if len(c.Categories) > 0 {
		w.Categories = &StringArray{String: append([]string(nil), c.Categories...)}
	}
	if c.Importance != "" {
		w.Importance = c.Importance
	}
	if c.Location != "" {
		w.Location = strPtr(c.Location)
	}
	if c.Recurrence != nil {
		r, err := RecurrenceFrom(*c.Recurrence)
		if err != nil {
			return nil, err
		}
		w.Recurrence = r
	}
	if c.StartTimeZone != "" {
		w.StartTimeZone = &TimeZoneDefinition{Id: c.StartTimeZone}
	}
	if c.EndTimeZone != "" {
		w.EndTimeZone = &TimeZoneDefinition{Id: c.EndTimeZone}
	}
	if c.IsAllDayEvent && strings.TrimSpace(c.StartTimeZone) == "" {
		return nil, fmt.Errorf("ewswire: all-day event needs StartTimeZone (Windows zone id)")
	}
	return w, nil
}

// CalendarItemFrom converts an ews item with every property set, for
// servers answering GetItem/FindItem/SyncFolderItems. Zero values are left
// out; booleans and enumerations Exchange always returns are written. The
// item's ExtendedProperties are all written: a server selects the ones the
// request asked for before.
func CalendarItemFrom(c ews.CalendarItem) *CalendarItem {
	w := &CalendarItem{
		ItemId:                    ItemIdFrom(c.ItemId),
		ParentFolderId:            FolderIdFrom(c.ParentFolderId),
		ItemClass:                 c.ItemClass,
		Subject:                   strPtr(c.Subject),
		Sensitivity:               string(c.Sensitivity),
		Importance:                c.Importance,
		DateTimeCreated:           NewDateTime(c.DateTimeCreated),
		LastModifiedTime:          NewDateTime(c.LastModifiedTime),
		UID:                       c.UID,
		RecurrenceId:              NewDateTime(c.RecurrenceId),
		DateTimeStamp:             NewDateTime(c.DateTimeStamp),
		Start:                     NewDateTime(c.Start),
		End:                       NewDateTime(c.End),
		OriginalStart:             NewDateTime(c.OriginalStart),
		IsAllDayEvent:             boolPtr(c.IsAllDayEvent),
		LegacyFreeBusyStatus:      string(c.LegacyFreeBusyStatus),
		Location:                  strPtr(c.Location),
		IsMeeting:                 boolPtr(c.IsMeeting),
		IsCancelled:               boolPtr(c.IsCancelled),
		IsRecurring:               boolPtr(c.IsRecurring),
		MeetingRequestWasSent:     boolPtr(c.MeetingRequestWasSent),
		IsResponseRequested:       boolPtr(c.IsResponseRequested),
		CalendarItemType:          string(c.CalendarItemType),
		MyResponseType:            string(c.MyResponseType),
		RequiredAttendees:         attendeesFrom(c.RequiredAttendees),
		OptionalAttendees:         attendeesFrom(c.OptionalAttendees),
		Resources:                 attendeesFrom(c.Resources),
		AppointmentSequenceNumber: &c.AppointmentSequenceNumber,
		AppointmentState:          intPtr(int(c.AppointmentState)),
		IsOnlineMeeting:           boolPtr(c.IsOnlineMeeting),
		ExtendedProperty:          extendedFrom(c.ExtendedProperties),
	}
	if c.Body != nil {
		w.Body = &Body{BodyType: string(c.Body.Type), Text: c.Body.Text}
	}
	if len(c.Categories) > 0 {
		w.Categories = &StringArray{String: c.Categories}
	}
	if c.Organizer != nil {
		w.Organizer = &SingleRecipient{Mailbox: EmailAddressFrom(*c.Organizer)}
	}
	if c.Recurrence != nil {
		if r, err := RecurrenceFrom(*c.Recurrence); err == nil {
			w.Recurrence = r
		}
	}
	occ := func(o *ews.OccurrenceInfo) *OccurrenceInfo {
		if o == nil {
			return nil
		}
		return &OccurrenceInfo{ItemId: ItemId{Id: o.ItemId.Id, ChangeKey: o.ItemId.ChangeKey}, Start: NewDateTime(o.Start), End: NewDateTime(o.End), OriginalStart: NewDateTime(o.OriginalStart)}
	}
	w.FirstOccurrence = occ(c.FirstOccurrence)
	w.LastOccurrence = occ(c.LastOccurrence)
	if len(c.ModifiedOccurrences) > 0 {
		w.ModifiedOccurrences = &Occurrences{}
		for i := range c.ModifiedOccurrences {
			w.ModifiedOccurrences.Occurrence = append(w.ModifiedOccurrences.Occurrence, *occ(&c.ModifiedOccurrences[i]))
		}
	}
	if len(c.DeletedOccurrences) > 0 {
		w.DeletedOccurrences = &DeletedOccs{}
		for _, d := range c.DeletedOccurrences {
			w.DeletedOccurrences.DeletedOccurrence = append(w.DeletedOccurrences.DeletedOccurrence, DeletedOccurrence{Start: NewDateTime(d.Start)})
		}
	}
	if c.StartTimeZone != "" {
		w.StartTimeZone = &TimeZoneDefinition{Id: c.StartTimeZone}
	}
	if c.EndTimeZone != "" {
		w.EndTimeZone = &TimeZoneDefinition{Id: c.EndTimeZone}
	}
	return w
}

func intPtr(i int) *int { return &i }
