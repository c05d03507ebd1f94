package graphserver

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// How the model's EWS items look as Graph events. Graph's REST ids are the
// EWS ids in URL-safe base64, so one item has related ids on both faces.

// graphID converts an EWS item id to Graph's form.
func graphID(ewsID string) string {
	return strings.NewReplacer("/", "-", "+", "_").Replace(ewsID)
}

// ewsID converts a Graph id back.
func ewsID(id string) string {
	return strings.NewReplacer("-", "/", "_", "+").Replace(id)
}

// graphDateTime is dateTimeTimeZone's dateTime: local time without offset,
// seven fractional digits.
const graphDateTime = "2006-01-02T15:04:05.0000000"

// zone is a time zone for rendering: the name Graph writes and its location.
type zone struct {
	name string
	loc  *time.Location
}

var utcZone = zone{name: "UTC", loc: time.UTC}

func (z zone) dateTime(t time.Time) *graphwire.DateTimeTimeZone {
	return &graphwire.DateTimeTimeZone{DateTime: t.In(z.loc).Format(graphDateTime), TimeZone: z.name}
}

// resolveZone reads a Prefer: outlook.timezone value: a Windows id (what
// Graph documents) or an IANA name. Unknown names give false.
func resolveZone(name string) (zone, bool) {
	if name == "" {
		return utcZone, false
	}
	if strings.EqualFold(name, "UTC") {
		return utcZone, true
	}
	if loc, err := ewsserver.LoadWindowsZone(name); err == nil {
		return zone{name: name, loc: loc}, true
	}
	if loc, err := time.LoadLocation(name); err == nil && strings.Contains(name, "/") {
		return zone{name: name, loc: loc}, true
	}
	return utcZone, false
}

var showAs = map[ews.FreeBusyStatus]string{
	ews.FreeBusyFree: "free", ews.FreeBusyTentative: "tentative", ews.FreeBusyBusy: "busy",
	ews.FreeBusyOOF: "oof", ews.FreeBusyWorkingElsewhere: "workingElsewhere", ews.FreeBusyNoData: "unknown",
}

var sensitivity = map[ews.Sensitivity]string{
	ews.SensitivityNormal: "normal", ews.SensitivityPersonal: "personal",
	ews.SensitivityPrivate: "private", ews.SensitivityConfidential: "confidential",
}

var eventType = map[ews.CalendarItemType]string{
	ews.ItemTypeSingle: "singleInstance", ews.ItemTypeOccurrence: "occurrence",
	ews.ItemTypeException: "exception", ews.ItemTypeRecurringMaster: "seriesMaster",
}

var response = map[ews.ResponseType]string{
	ews.ResponseUnknown: "none", ews.ResponseOrganizer: "organizer", ews.ResponseTentative: "tentativelyAccepted",
	ews.ResponseAccept: "accepted", ews.ResponseDecline: "declined", ews.ResponseNoResponseReceived: "notResponded",
}

// renderEvent turns a model item into a Graph event with start and end in z.
func (s *Server) renderEvent(c ews.CalendarItem, z zone) graphwire.Event {
	id := graphID(c.ItemId.Id)
	t := func(b bool) *bool { return &b }
	e := graphwire.Event{
		ODataETag:             `W/"` + c.ItemId.ChangeKey + `"`,
		ID:                    id,
		ChangeKey:             c.ItemId.ChangeKey,
		Categories:            append([]string{}, c.Categories...),
		ICalUID:               iCalUID(c),
		Type:                  eventType[c.CalendarItemType],
		Subject:               c.Subject,
		Start:                 z.dateTime(c.Start),
		End:                   z.dateTime(c.End),
		OriginalStartTimeZone: orUTC(c.StartTimeZone),
		OriginalEndTimeZone:   orUTC(c.EndTimeZone),
		IsAllDay:              t(c.IsAllDayEvent),
		IsCancelled:           t(c.IsCancelledState()),
		IsOrganizer:           t(c.IsOrganizer || c.MyResponseType == ews.ResponseOrganizer || !c.IsMeeting),
		ShowAs:                string(c.LegacyFreeBusyStatus),
		Sensitivity:           string(c.Sensitivity),
		Location:              &graphwire.Location{DisplayName: c.Location},
	}
	if v, ok := showAs[c.LegacyFreeBusyStatus]; ok {
		e.ShowAs = v
	}
	if v, ok := sensitivity[c.Sensitivity]; ok {
		e.Sensitivity = v
	}
	if e.Type == "" {
		e.Type = "singleInstance"
	}
	if !c.DateTimeCreated.IsZero() {
		v := c.DateTimeCreated.UTC()
		e.CreatedDateTime = &v
	}
	if !c.LastModifiedTime.IsZero() {
		v := c.LastModifiedTime.UTC()
		e.LastModifiedDateTime = &v
	}
	resp := "none"
	if v, ok := response[c.MyResponseType]; ok {
		resp = v
	}
	if !c.IsMeeting {
		resp = "organizer"
	}
	e.ResponseStatus = &graphwire.ResponseStatus{Response: resp}
	if c.Organizer != nil {
		e.Organizer = &graphwire.Recipient{EmailAddress: graphwire.EmailAddress{Name: c.Organizer.Name, Address: c.Organizer.EmailAddress}}
	}
	for _, a := range c.RequiredAttendees {
		e.Attendees = append(e.Attendees, graphwire.Attendee{Type: "required", EmailAddress: graphwire.EmailAddress{Name: a.Mailbox.Name, Address: a.Mailbox.EmailAddress}})
	}
	for _, a := range c.OptionalAttendees {
		e.Attendees = append(e.Attendees, graphwire.Attendee{Type: "optional", EmailAddress: graphwire.EmailAddress{Name: a.Mailbox.Name, Address: a.Mailbox.EmailAddress}})
	}
	if c.CalendarItemType == ews.ItemTypeOccurrence || c.CalendarItemType == ews.ItemTypeException {
		if sm, ok := s.model.(SeriesMasters); ok {
			if master, ok := sm.SeriesMasterID(c.ItemId.Id); ok {
				e.SeriesMasterID = graphID(master)
			}
		}
	}
	return e
}

// sparse keeps the fields Graph's delta was observed to send for
// occurrences (graph-facts §2c, [S45]).
func sparse(e graphwire.Event) graphwire.Event {
	return graphwire.Event{ODataType: graphwire.ODataTypeEvent, ODataETag: e.ODataETag, ID: e.ID,
		SeriesMasterID: e.SeriesMasterID, Type: e.Type, Start: e.Start, End: e.End}
}

// iCalUID is a hex id per event; occurrences of one series differ, as in
// Graph (the GlobalObjectId includes the instance date).
func iCalUID(c ews.CalendarItem) string {
	key := c.UID
	if key == "" {
		key = c.ItemId.Id
	}
	if !c.RecurrenceId.IsZero() {
		key += "|" + c.RecurrenceId.UTC().Format(time.RFC3339)
	}
	sum := sha256.Sum256([]byte(key))
	return "040000008200E00074C5B7101A82E008" + strings.ToUpper(hex.EncodeToString(sum[:24]))
}

func orUTC(z string) string {
	if z == "" {
		return "UTC"
	}
	return z
}
