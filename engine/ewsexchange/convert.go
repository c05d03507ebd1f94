package ewsexchange

import (
	"fmt"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/ews"
)

// Occurrence converts one CalendarView item into calsync's calendar model.
//
// Instants are UTC. An all-day event keeps its local midnights: when the
// server's instants are not midnights of StartTimeZone they are snapped
// (start down, end up), so that presence sees whole local days. Cancellation
// is IsCancelled or AppointmentState bit 4. Missing enumerations take
// Exchange's defaults (Busy, Normal, Unknown).
func Occurrence(it *ews.CalendarItem) (calendar.Occurrence, error) {
	if it == nil || it.ItemId.Id == "" {
		return calendar.Occurrence{}, fmt.Errorf("ewsexchange: calendar item without id")
	}
	if it.Start.IsZero() || it.End.IsZero() {
		return calendar.Occurrence{}, fmt.Errorf("ewsexchange: calendar item %q without start or end", it.ItemId.Id)
	}
	o := calendar.Occurrence{
		ItemID:      it.ItemId.Id,
		ChangeKey:   it.ItemId.ChangeKey,
		UID:         it.UID,
		Subject:     it.Subject,
		Location:    it.Location,
		Start:       it.Start.UTC(),
		End:         it.End.UTC(),
		AllDay:      it.IsAllDayEvent,
		IsMeeting:   it.IsMeeting || it.AppointmentState.Has(ews.AppointmentMeeting),
		Cancelled:   it.IsCancelledState(),
		FreeBusy:    freeBusy(it.LegacyFreeBusyStatus),
		Sensitivity: sensitivity(it.Sensitivity),
		Response:    response(it.MyResponseType),
	}
	if len(it.Categories) > 0 {
		o.Categories = append([]string(nil), it.Categories...)
	}
	if it.Organizer != nil {
		o.Organizer = it.Organizer.EmailAddress
	}
	switch it.CalendarItemType {
	case ews.ItemTypeOccurrence:
		o.Kind = calendar.KindOccurrence
	case ews.ItemTypeException:
		o.Kind = calendar.KindException
	case ews.ItemTypeSingle, "":
		o.Kind = calendar.KindSingle
	case ews.ItemTypeRecurringMaster:
		return calendar.Occurrence{}, fmt.Errorf("ewsexchange: item %q is a recurring master, not an occurrence (CalendarView expands series)", it.ItemId.Id)
	default:
		return calendar.Occurrence{}, fmt.Errorf("ewsexchange: item %q has unknown CalendarItemType %q", it.ItemId.Id, it.CalendarItemType)
	}
	if it.StartTimeZone != "" {
		if loc, err := calendar.LoadZone(it.StartTimeZone); err == nil {
			o.TimeZone = loc.String()
			if o.AllDay {
				o.Start, o.End = snapDays(o.Start, o.End, loc)
			}
		}
	}
	if o.End.Before(o.Start) {
		return calendar.Occurrence{}, fmt.Errorf("ewsexchange: item %q ends (%s) before it starts (%s)", o.ItemID, o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339))
	}
	return o, nil
}

// snapDays widens [start, end) to whole local days in loc.
func snapDays(start, end time.Time, loc *time.Location) (time.Time, time.Time) {
	ls := start.In(loc)
	s := time.Date(ls.Year(), ls.Month(), ls.Day(), 0, 0, 0, 0, loc)
	le := end.In(loc)
	e := time.Date(le.Year(), le.Month(), le.Day(), 0, 0, 0, 0, loc)
	if e.Before(le) {
		e = time.Date(le.Year(), le.Month(), le.Day()+1, 0, 0, 0, 0, loc)
	}
	return s.UTC(), e.UTC()
}

func freeBusy(s ews.FreeBusyStatus) calendar.FreeBusy {
	switch s {
	case ews.FreeBusyFree:
		return calendar.Free
	case ews.FreeBusyTentative:
		return calendar.Tentative
	case ews.FreeBusyOOF:
		return calendar.OutOfOffice
	case ews.FreeBusyWorkingElsewhere:
		return calendar.WorkingElsewhere
	case ews.FreeBusyNoData:
		return calendar.NoData
	default:
		return calendar.Busy
	}
}

func sensitivity(s ews.Sensitivity) calendar.Sensitivity {
	switch s {
	case ews.SensitivityPersonal:
		return calendar.Personal
	case ews.SensitivityPrivate:
		return calendar.Private
	case ews.SensitivityConfidential:
		return calendar.Confidential
	default:
		return calendar.Normal
	}
}

func response(r ews.ResponseType) calendar.ResponseType {
	switch r {
	case ews.ResponseOrganizer:
		return calendar.ResponseOrganizer
	case ews.ResponseTentative:
		return calendar.ResponseTentative
	case ews.ResponseAccept:
		return calendar.ResponseAccept
	case ews.ResponseDecline:
		return calendar.ResponseDecline
	case ews.ResponseNoResponseReceived:
		return calendar.ResponseNoResponse
	default:
		return calendar.ResponseUnknown
	}
}

// OOF converts automatic-reply settings.
func OOF(s ews.OofSettings) calendar.OOFSettings {
	out := calendar.OOFSettings{State: calendar.OOFDisabled, InternalReply: s.InternalReply}
	switch s.State {
	case ews.OofEnabled:
		out.State = calendar.OOFEnabled
	case ews.OofScheduled:
		out.State = calendar.OOFScheduled
	}
	if !s.Start.IsZero() {
		out.Start = s.Start.UTC()
	}
	if !s.End.IsZero() {
		out.End = s.End.UTC()
	}
	return out
}
