package graphserver

import (
	"net/http"
	"net/url"
	"time"
)

// serveCalendarView is GET /users/{id}/calendarView: the expanded
// calendar in a mandatory window (occurrences, exceptions and single
// instances, no series masters), $top (1–1000, default PageSize) per page,
// further pages by @odata.nextLink.
func (s *Server) serveCalendarView(w http.ResponseWriter, r *http.Request, smtp string) {
	q := r.URL.Query()
	from, to, e := windowOf(q)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	prefs := parsePrefer(r.Header)
	size, skip, e := s.pageParams(q, prefs)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	items, err := s.model.Occurrences(smtp, from, to)
	if err != nil {
		s.writeError(w, r, errInvalidUser(smtp))
		return
	}
	s.writeEventPage(w, r, items, size, skip, applyZone(w, prefs), metadataContext(smtp, "calendarView"))
}

// windowOf reads the mandatory startDateTime and endDateTime.
func windowOf(q url.Values) (from, to time.Time, e *apiError) {
	sv, ev := queryGet(q, "startDateTime"), queryGet(q, "endDateTime")
	if sv == "" || ev == "" {
		return from, to, errorf(http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
	}
	var ok bool
	if from, ok = parseWindowValue(sv); !ok {
		return from, to, errorf(http.StatusBadRequest, "ErrorInvalidParameter", "The value '%s' of parameter 'StartDateTime' is invalid.", clip(sv, 40))
	}
	if to, ok = parseWindowValue(ev); !ok {
		return from, to, errorf(http.StatusBadRequest, "ErrorInvalidParameter", "The value '%s' of parameter 'EndDateTime' is invalid.", clip(ev, 40))
	}
	return from, to, nil
}
