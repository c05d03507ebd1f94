package graphserver

import (
	"net/http"

	"github.com/calsync/calsync/ews"
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

// serveInstances is GET /users/{id}/events/{id}/instances: the
// occurrences and exceptions of one series in a mandatory window, paged
// like calendarView. A single instance has none; an unknown id is 404.
func (s *Server) serveInstances(w http.ResponseWriter, r *http.Request, smtp, id string) {
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
	masters, err := s.model.CalendarItems(smtp)
	if err != nil {
		s.writeError(w, r, errInvalidUser(smtp))
		return
	}
	master := ewsID(id)
	found := false
	for _, it := range masters {
		found = found || it.ItemId.Id == master
	}
	sm, ok := s.model.(SeriesMasters)
	if !found || !ok {
		s.writeError(w, r, errItemNotFound())
		return
	}
	all, err := s.model.Occurrences(smtp, from, to)
	if err != nil {
		s.writeError(w, r, errInvalidUser(smtp))
		return
	}
	var items []ews.CalendarItem
	for _, it := range all {
		if m, ok := sm.SeriesMasterID(it.ItemId.Id); ok && m == master {
			items = append(items, it)
		}
	}
	s.writeEventPage(w, r, items, size, skip, applyZone(w, prefs), metadataContext(smtp, "events('"+id+"')/instances"))
}
