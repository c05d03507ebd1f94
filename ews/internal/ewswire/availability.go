package ewswire

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/calsync/calsync/ews"
)

// GetUserAvailabilityRequest is m:GetUserAvailabilityRequestType
// ([MS-OXWSGTAV]) without suggestions.
type GetUserAvailabilityRequest struct {
	XMLName          xml.Name              `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetUserAvailabilityRequest"`
	TimeZone         *SerializableTimeZone `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeZone,omitempty"`
	MailboxDataArray struct {
		MailboxData []MailboxData `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailboxData"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailboxDataArray"`
	FreeBusyViewOptions *FreeBusyViewOptions `xml:"http://schemas.microsoft.com/exchange/services/2006/types FreeBusyViewOptions,omitempty"`
}

// SerializableTimeZone is t:SerializableTimeZone.
type SerializableTimeZone struct {
	Bias         int                      `xml:"http://schemas.microsoft.com/exchange/services/2006/types Bias"`
	StandardTime SerializableTimeZoneTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types StandardTime"`
	DaylightTime SerializableTimeZoneTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types DaylightTime"`
}

// SerializableTimeZoneTime is t:SerializableTimeZoneTime.
type SerializableTimeZoneTime struct {
	Bias      int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Bias"`
	Time      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Time"`
	DayOrder  int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOrder"`
	Month     int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Month"`
	DayOfWeek string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfWeek"`
}

// MailboxData is t:MailboxData.
type MailboxData struct {
	Email struct {
		Name        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name,omitempty"`
		Address     string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Address"`
		RoutingType string `xml:"http://schemas.microsoft.com/exchange/services/2006/types RoutingType,omitempty"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Email"`
	AttendeeType     string `xml:"http://schemas.microsoft.com/exchange/services/2006/types AttendeeType"`
	ExcludeConflicts *bool  `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExcludeConflicts,omitempty"`
}

// FreeBusyViewOptions is t:FreeBusyViewOptionsType.
type FreeBusyViewOptions struct {
	TimeWindow struct {
		StartTime LocalDateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTime"`
		EndTime   LocalDateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTime"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeWindow"`
	MergedFreeBusyIntervalInMinutes int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types MergedFreeBusyIntervalInMinutes,omitempty"`
	RequestedView                   string `xml:"http://schemas.microsoft.com/exchange/services/2006/types RequestedView,omitempty"`
}

// GetUserAvailabilityResponse is m:GetUserAvailabilityResponseType.
type GetUserAvailabilityResponse struct {
	XMLName               xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetUserAvailabilityResponse"`
	FreeBusyResponseArray struct {
		FreeBusyResponse []FreeBusyResponse `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FreeBusyResponse"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FreeBusyResponseArray"`
}

// FreeBusyResponse is m:FreeBusyResponseType.
type FreeBusyResponse struct {
	ResponseMessage *ResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessage"`
	FreeBusyView    *FreeBusyView    `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FreeBusyView,omitempty"`
}

// FreeBusyView is t:FreeBusyView.
type FreeBusyView struct {
	FreeBusyViewType   string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types FreeBusyViewType"`
	MergedFreeBusy     string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types MergedFreeBusy,omitempty"`
	CalendarEventArray *CalendarEventArray `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarEventArray,omitempty"`
	WorkingHours       *WorkingHours       `xml:"http://schemas.microsoft.com/exchange/services/2006/types WorkingHours,omitempty"`
}

// CalendarEventArray is t:ArrayOfCalendarEvent.
type CalendarEventArray struct {
	CalendarEvent []CalendarEvent `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarEvent"`
}

// CalendarEvent is t:CalendarEvent.
type CalendarEvent struct {
	StartTime            LocalDateTime         `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTime"`
	EndTime              LocalDateTime         `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTime"`
	BusyType             string                `xml:"http://schemas.microsoft.com/exchange/services/2006/types BusyType"`
	CalendarEventDetails *CalendarEventDetails `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarEventDetails,omitempty"`
}

// CalendarEventDetails is t:CalendarEventDetails.
type CalendarEventDetails struct {
	ID            string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ID,omitempty"`
	Subject       string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Subject,omitempty"`
	Location      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Location,omitempty"`
	IsMeeting     bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsMeeting"`
	IsRecurring   bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsRecurring"`
	IsException   bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsException"`
	IsReminderSet bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsReminderSet"`
	IsPrivate     bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsPrivate"`
}

// WorkingHours is t:WorkingHours.
type WorkingHours struct {
	TimeZone           SerializableTimeZone `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeZone"`
	WorkingPeriodArray struct {
		WorkingPeriod []WorkingPeriod `xml:"http://schemas.microsoft.com/exchange/services/2006/types WorkingPeriod"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types WorkingPeriodArray"`
}

// WorkingPeriod is t:WorkingPeriod.
type WorkingPeriod struct {
	DayOfWeek          string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfWeek"`
	StartTimeInMinutes int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTimeInMinutes"`
	EndTimeInMinutes   int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTimeInMinutes"`
}

// TimeZoneFrom converts the legacy zone.
func TimeZoneFrom(z ews.LegacyTimeZone) SerializableTimeZone {
	conv := func(c ews.TimeChange) SerializableTimeZoneTime {
		return SerializableTimeZoneTime{Bias: c.Bias, Time: c.Time, DayOrder: c.DayOrder, Month: c.Month, DayOfWeek: string(c.DayOfWeek)}
	}
	return SerializableTimeZone{Bias: z.Bias, StandardTime: conv(z.Standard), DaylightTime: conv(z.Daylight)}
}

// ToEWS converts the legacy zone.
func (z *SerializableTimeZone) ToEWS() ews.LegacyTimeZone {
	conv := func(c SerializableTimeZoneTime) ews.TimeChange {
		return ews.TimeChange{Bias: c.Bias, Time: c.Time, DayOrder: c.DayOrder, Month: c.Month, DayOfWeek: ews.DayOfWeek(c.DayOfWeek)}
	}
	return ews.LegacyTimeZone{Bias: z.Bias, Standard: conv(z.StandardTime), Daylight: conv(z.DaylightTime)}
}

// ToEWS converts and checks a free/busy view: known busy types, events
// that do not end before they start, MergedFreeBusy made of digits.
func (v *FreeBusyView) ToEWS() (ews.FreeBusyView, error) {
	out := ews.FreeBusyView{ViewType: ews.FreeBusyViewType(strings.TrimSpace(v.FreeBusyViewType)), MergedFreeBusy: strings.TrimSpace(v.MergedFreeBusy)}
	for i := 0; i < len(out.MergedFreeBusy); i++ {
		if c := out.MergedFreeBusy[i]; c < '0' || c > '9' {
			return out, fmt.Errorf("ewswire: MergedFreeBusy has a non-digit %q", c)
		}
	}
	if v.CalendarEventArray != nil {
		for _, e := range v.CalendarEventArray.CalendarEvent {
			ce := ews.CalendarEvent{StartTime: e.StartTime.Time, EndTime: e.EndTime.Time, BusyType: ews.FreeBusyStatus(e.BusyType)}
			if !ce.BusyType.Valid() {
				return out, fmt.Errorf("ewswire: calendar event has unknown BusyType %q", e.BusyType)
			}
			if ce.EndTime.Before(ce.StartTime) {
				return out, fmt.Errorf("ewswire: calendar event ends (%s) before it starts (%s)", ce.EndTime, ce.StartTime)
			}
			if d := e.CalendarEventDetails; d != nil {
				ce.Details = &ews.CalendarEventDetails{ID: d.ID, Subject: d.Subject, Location: d.Location, IsMeeting: d.IsMeeting,
					IsRecurring: d.IsRecurring, IsException: d.IsException, IsReminderSet: d.IsReminderSet, IsPrivate: d.IsPrivate}
			}
			out.CalendarEvents = append(out.CalendarEvents, ce)
		}
	}
	if w := v.WorkingHours; w != nil {
		wh := &ews.WorkingHours{TimeZone: w.TimeZone.ToEWS()}
		for _, p := range w.WorkingPeriodArray.WorkingPeriod {
			wh.Periods = append(wh.Periods, ews.WorkingPeriod{DaysOfWeek: parseDays(p.DayOfWeek), StartTimeInMinutes: p.StartTimeInMinutes, EndTimeInMinutes: p.EndTimeInMinutes})
		}
		out.WorkingHours = wh
	}
	return out, nil
}

// FreeBusyViewFrom converts an ews view for a server response.
func FreeBusyViewFrom(v ews.FreeBusyView) *FreeBusyView {
	w := &FreeBusyView{FreeBusyViewType: string(v.ViewType), MergedFreeBusy: v.MergedFreeBusy}
	if len(v.CalendarEvents) > 0 {
		w.CalendarEventArray = &CalendarEventArray{}
		for _, e := range v.CalendarEvents {
			ce := CalendarEvent{StartTime: LocalDateTime{e.StartTime}, EndTime: LocalDateTime{e.EndTime}, BusyType: string(e.BusyType)}
			if d := e.Details; d != nil {
				ce.CalendarEventDetails = &CalendarEventDetails{ID: d.ID, Subject: d.Subject, Location: d.Location, IsMeeting: d.IsMeeting,
					IsRecurring: d.IsRecurring, IsException: d.IsException, IsReminderSet: d.IsReminderSet, IsPrivate: d.IsPrivate}
			}
			w.CalendarEventArray.CalendarEvent = append(w.CalendarEventArray.CalendarEvent, ce)
		}
	}
	if v.WorkingHours != nil {
		wh := &WorkingHours{TimeZone: TimeZoneFrom(v.WorkingHours.TimeZone)}
		for _, p := range v.WorkingHours.Periods {
			wh.WorkingPeriodArray.WorkingPeriod = append(wh.WorkingPeriodArray.WorkingPeriod, WorkingPeriod{DayOfWeek: joinDays(p.DaysOfWeek), StartTimeInMinutes: p.StartTimeInMinutes, EndTimeInMinutes: p.EndTimeInMinutes})
		}
		w.WorkingHours = wh
	}
	return w
}

// GetUserOofSettingsRequest is m:GetUserOofSettingsRequest ([MS-OXWSOOF]).
type GetUserOofSettingsRequest struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetUserOofSettingsRequest"`
	Mailbox struct {
		Name        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name,omitempty"`
		Address     string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Address"`
		RoutingType string `xml:"http://schemas.microsoft.com/exchange/services/2006/types RoutingType,omitempty"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
}

// GetUserOofSettingsResponse is m:GetUserOofSettingsResponse (singular
// ResponseMessage).
type GetUserOofSettingsResponse struct {
	XMLName          xml.Name         `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetUserOofSettingsResponse"`
	ResponseMessage  *ResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessage"`
	OofSettings      *UserOofSettings `xml:"http://schemas.microsoft.com/exchange/services/2006/types OofSettings,omitempty"`
	AllowExternalOof string           `xml:"http://schemas.microsoft.com/exchange/services/2006/messages AllowExternalOof,omitempty"`
}

// UserOofSettings is t:UserOofSettings.
type UserOofSettings struct {
	OofState         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types OofState"`
	ExternalAudience string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExternalAudience"`
	Duration         *struct {
		StartTime DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTime"`
		EndTime   DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTime"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Duration,omitempty"`
	InternalReply *ReplyBody `xml:"http://schemas.microsoft.com/exchange/services/2006/types InternalReply,omitempty"`
	ExternalReply *ReplyBody `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExternalReply,omitempty"`
}

// ReplyBody is t:ReplyBody.
type ReplyBody struct {
	Message string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Message"`
}

// ToEWS converts and checks the settings.
func (r *GetUserOofSettingsResponse) ToEWS() (ews.OofSettings, error) {
	if r.OofSettings == nil {
		return ews.OofSettings{}, fmt.Errorf("ewswire: GetUserOofSettings response without OofSettings")
	}
	s := r.OofSettings
	out := ews.OofSettings{State: ews.OofState(strings.TrimSpace(s.OofState)), ExternalAudience: ews.ExternalAudience(strings.TrimSpace(s.ExternalAudience)), AllowExternalOof: r.AllowExternalOof}
	switch out.State {
	case ews.OofDisabled, ews.OofEnabled, ews.OofScheduled:
	default:
		return out, fmt.Errorf("ewswire: unknown OofState %q", s.OofState)
	}
	if s.Duration != nil {
		out.Start, out.End = s.Duration.StartTime.Time, s.Duration.EndTime.Time
		if out.State == ews.OofScheduled && out.End.Before(out.Start) {
			return out, fmt.Errorf("ewswire: scheduled OOF ends (%s) before it starts (%s)", out.End, out.Start)
		}
	} else if out.State == ews.OofScheduled {
		return out, fmt.Errorf("ewswire: scheduled OOF without Duration")
	}
	if s.InternalReply != nil {
		out.InternalReply = s.InternalReply.Message
	}
	if s.ExternalReply != nil {
		out.ExternalReply = s.ExternalReply.Message
	}
	return out, nil
}

// OofResponseFrom builds a successful response for a server.
func OofResponseFrom(s ews.OofSettings) *GetUserOofSettingsResponse {
	ok := Success()
	r := &GetUserOofSettingsResponse{ResponseMessage: &ok, AllowExternalOof: s.AllowExternalOof}
	if r.AllowExternalOof == "" {
		r.AllowExternalOof = "All"
	}
	u := &UserOofSettings{OofState: string(s.State), ExternalAudience: string(s.ExternalAudience),
		InternalReply: &ReplyBody{Message: s.InternalReply}, ExternalReply: &ReplyBody{Message: s.ExternalReply}}
	if u.ExternalAudience == "" {
		u.ExternalAudience = string(ews.AudienceNone)
	}
	if !s.Start.IsZero() || !s.End.IsZero() {
		u.Duration = &struct {
			StartTime DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTime"`
			EndTime   DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTime"`
		}{DateTime{s.Start}, DateTime{s.End}}
	}
	r.OofSettings = u
	return r
}
