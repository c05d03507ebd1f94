package graphserver

import (
	"net/http"
	"strings"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// serveMailboxSettings is GET /users/{id}/mailboxSettings and its
// sub-paths automaticRepliesSetting, timeZone and workingHours.
//
// Graph's documentation returns enumeration values in two casings
// ("scheduled" and "Scheduled", "all" and "All"; graph-facts §4). The
// simulator sends both, camelCase for about half of the mailboxes (by
// address) and PascalCase for the others, so a client that compares
// case-sensitively fails against it.
func (s *Server) serveMailboxSettings(w http.ResponseWriter, r *http.Request, smtp, part string) {
	oof, err := s.model.OOF(smtp)
	if err != nil {
		s.writeError(w, r, errInvalidUser(smtp))
		return
	}
	tzID, _, err := s.model.TimeZone(smtp)
	if err != nil {
		tzID = "UTC"
	}
	pascal := s.pascalCase(smtp)
	settings := graphwire.MailboxSettings{
		ODataContext:            metadataContext(smtp, "mailboxSettings"),
		TimeZone:                tzID,
		AutomaticRepliesSetting: automaticReplies(oof, pascal),
		WorkingHours: &graphwire.WorkingHours{DaysOfWeek: []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
			StartTime: "08:00:00.0000000", EndTime: "17:00:00.0000000", TimeZone: &graphwire.TimeZoneBase{Name: tzID}},
		Language:   &graphwire.LocaleInfo{Locale: "en-US", DisplayName: "English (United States)"},
		DateFormat: "M/d/yyyy",
		TimeFormat: "h:mm tt",
	}
	ctx := settings.ODataContext
	switch part {
	case "":
		writeJSON(w, http.StatusOK, settings)
	case "automaticrepliessetting":
		writeJSON(w, http.StatusOK, struct {
			Context string `json:"@odata.context"`
			*graphwire.AutomaticRepliesSetting
		}{ctx + "/automaticRepliesSetting", settings.AutomaticRepliesSetting})
	case "timezone":
		writeJSON(w, http.StatusOK, map[string]string{"@odata.context": ctx + "/timeZone", "value": tzID})
	case "workinghours":
		writeJSON(w, http.StatusOK, struct {
			Context string `json:"@odata.context"`
			*graphwire.WorkingHours
		}{ctx + "/workingHours", settings.WorkingHours})
	}
}

// pascalCase decides the enumeration casing of a mailbox (see above).
func (s *Server) pascalCase(smtp string) bool {
	sum := 0
	for _, c := range smtp {
		sum += int(c)
	}
	return sum%2 == 1
}

// automaticReplies converts the model's OOF settings.
func automaticReplies(o ews.OofSettings, pascal bool) *graphwire.AutomaticRepliesSetting {
	status := map[ews.OofState]string{ews.OofDisabled: "disabled", ews.OofEnabled: "alwaysEnabled", ews.OofScheduled: "scheduled"}[o.State]
	if status == "" {
		status = "disabled"
	}
	audience := map[ews.ExternalAudience]string{ews.AudienceNone: "none", ews.AudienceKnown: "contactsOnly", ews.AudienceAll: "all"}[o.ExternalAudience]
	if audience == "" {
		audience = "none"
	}
	if pascal {
		status, audience = upperFirst(status), upperFirst(audience)
	}
	a := &graphwire.AutomaticRepliesSetting{Status: status, ExternalAudience: audience,
		InternalReplyMessage: o.InternalReply, ExternalReplyMessage: o.ExternalReply}
	// Graph always sends the schedule (meaningful only when scheduled).
	a.ScheduledStartDateTime = utcZone.dateTime(o.Start)
	a.ScheduledEndDateTime = utcZone.dateTime(o.End)
	return a
}

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
