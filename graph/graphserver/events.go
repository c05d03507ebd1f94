package graphserver

import (
	"net/http"
)

// serveEvents is GET /users/{id}/events: single instances and series
// masters, not expanded, $top/$skip paging like calendarView.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, smtp string) {
	prefs := parsePrefer(r.Header)
	size, skip, e := s.pageParams(r.URL.Query(), prefs)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	items, err := s.model.CalendarItems(smtp)
	if err != nil {
		s.writeError(w, r, errInvalidUser(smtp))
		return
	}
	s.writeEventPage(w, r, items, size, skip, applyZone(w, prefs), metadataContext(smtp, "events"))
}

// serveEvent is GET /users/{id}/events/{id} for a single instance or a
// series master. Ids are case-sensitive.
func (s *Server) serveEvent(w http.ResponseWriter, r *http.Request, smtp, id string) {
	items, err := s.model.CalendarItems(smtp)
	if err != nil {
		s.writeError(w, r, errInvalidUser(smtp))
		return
	}
	want := ewsID(id)
	for _, it := range items {
		if it.ItemId.Id == want {
			writeJSON(w, http.StatusOK, s.renderEvent(it, applyZone(w, parsePrefer(r.Header))))
			return
		}
	}
	s.writeError(w, r, errItemNotFound())
}
