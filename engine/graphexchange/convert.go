package graphexchange

import (
	"fmt"
	"strings"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/graph"
)

// Occurrence converts one calendarView event into calsync's calendar
// model. Instants are UTC; an all-day event keeps the zone it was created
// in (originalStartTimeZone) when that zone is known. showAs, sensitivity
// and the response map one to one to EWS's values; missing ones take
// Exchange's defaults (Busy, Normal, Unknown). Series masters are refused:
// calendarView expands series.
func Occurrence(e graph.Event) (calendar.Occurrence, error) {
	if e.ID == "" {
		return calendar.Occurrence{}, fmt.Errorf("graphexchange: event without id")
	}
	start, err := e.Start.Time()
	if err != nil {
		return calendar.Occurrence{}, fmt.Errorf("graphexchange: event %q start: %w", e.ID, err)
	}
	end, err := e.End.Time()
	if err != nil {
		return calendar.Occurrence{}, fmt.Errorf("graphexchange: event %q end: %w", e.ID, err)
	}
	o := calendar.Occurrence{
		ItemID:      e.ID,
		ChangeKey:   e.ChangeKey,
		MasterID:    e.SeriesMasterID,
		UID:         e.ICalUID,
		Subject:     e.Subject,
		Location:    e.Location,
		Organizer:   e.Organizer,
		Start:       start.UTC(),
		End:         end.UTC(),
		AllDay:      e.IsAllDay,
		IsMeeting:   e.HasAttendees || (e.Organizer != "" && !e.IsOrganizer),
		Cancelled:   e.IsCancelled,
		FreeBusy:    freeBusy(e.ShowAs),
		Sensitivity: sensitivity(e.Sensitivity),
		Response:    response(e.Response),
	}
	if len(e.Categories) > 0 {
		o.Categories = append([]string(nil), e.Categories...)
	}
	switch e.Type {
	case graph.TypeOccurrence:
		o.Kind = calendar.KindOccurrence
	case graph.TypeException:
		o.Kind = calendar.KindException
	case graph.TypeSingleInstance, "":
		o.Kind = calendar.KindSingle
	case graph.TypeSeriesMaster:
		return calendar.Occurrence{}, fmt.Errorf("graphexchange: event %q is a series master, not an occurrence (calendarView expands series)", e.ID)
	default:
		return calendar.Occurrence{}, fmt.Errorf("graphexchange: event %q has unknown type %q", e.ID, e.Type)
	}
	if z := e.OriginalStartTimeZone; z != "" && !strings.HasPrefix(z, "tzone://") {
		if loc, err := calendar.LoadZone(z); err == nil {
			o.TimeZone = loc.String()
		}
	}
	return o, o.Validate()
}

func freeBusy(s graph.ShowAs) calendar.FreeBusy {
	switch s {
	case graph.ShowFree:
		return calendar.Free
	case graph.ShowTentative:
		return calendar.Tentative
	case graph.ShowOOF:
		return calendar.OutOfOffice
	case graph.ShowWorkingElsewhere:
		return calendar.WorkingElsewhere
	case graph.ShowUnknown:
		return calendar.NoData
	}
	return calendar.Busy
}

func sensitivity(s graph.Sensitivity) calendar.Sensitivity {
	switch s {
	case graph.SensitivityPersonal:
		return calendar.Personal
	case graph.SensitivityPrivate:
		return calendar.Private
	case graph.SensitivityConfidential:
		return calendar.Confidential
	}
	return calendar.Normal
}

func response(r graph.Response) calendar.ResponseType {
	switch r {
	case graph.ResponseOrganizer:
		return calendar.ResponseOrganizer
	case graph.ResponseTentativelyAccepted:
		return calendar.ResponseTentative
	case graph.ResponseAccepted:
		return calendar.ResponseAccept
	case graph.ResponseDeclined:
		return calendar.ResponseDecline
	case graph.ResponseNotResponded:
		return calendar.ResponseNoResponse
	}
	return calendar.ResponseUnknown
}

// OOFSettings converts automaticRepliesSetting. An unknown status is an
// error rather than "off": it is shown, not guessed.
func OOFSettings(a graph.AutomaticReplies) (calendar.OOFSettings, error) {
	s := calendar.OOFSettings{InternalReply: a.InternalReplyMessage}
	switch a.Status {
	case graph.AutoRepliesDisabled, "":
		s.State = calendar.OOFDisabled
	case graph.AutoRepliesAlwaysEnabled:
		s.State = calendar.OOFEnabled
	case graph.AutoRepliesScheduled:
		s.State = calendar.OOFScheduled
	default:
		return calendar.OOFSettings{}, fmt.Errorf("graphexchange: automatic replies status %q is unknown", a.Status)
	}
	if s.State == calendar.OOFScheduled || !a.ScheduledStart.IsZero() {
		start, err := a.ScheduledStart.Time()
		if err != nil && s.State == calendar.OOFScheduled {
			return calendar.OOFSettings{}, fmt.Errorf("graphexchange: scheduled automatic replies: %w", err)
		}
		end, err2 := a.ScheduledEnd.Time()
		if err2 != nil && s.State == calendar.OOFScheduled {
			return calendar.OOFSettings{}, fmt.Errorf("graphexchange: scheduled automatic replies: %w", err2)
		}
		if err == nil && err2 == nil {
			s.Start, s.End = start.UTC(), end.UTC()
		}
	}
	return s, nil
}
