package graphserver

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// serveGraph dispatches an authenticated /v1.0/ request. Path segments
// match case-insensitively, as Graph's do; ids keep their case.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	// Split the escaped path, so an escaped slash stays inside its segment.
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0/"), "/"), "/")
	low := make([]string, len(segs))
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
		low[i] = strings.ToLower(segs[i])
	}
	switch {
	case len(segs) == 1 && low[0] == "$batch":
		s.serveBatch(w, r)
	case low[0] == "subscriptions":
		s.serveSubscriptions(w, r, segs[1:])
	case low[0] == "users" && len(segs) >= 3:
		s.serveUser(w, r, segs[1], low[2:], segs[2:])
	default:
		s.writeError(w, r, errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(segs[len(segs)-1], 80)))
	}
}

// serveUser serves /users/{id|upn}/…: the user must exist and have a
// mailbox Graph serves; each request counts against the mailbox's limits.
func (s *Server) serveUser(w http.ResponseWriter, r *http.Request, key string, low, segs []string) {
	smtp := s.users.resolve(key)
	if smtp == "" {
		s.writeError(w, r, errInvalidUser(key))
		return
	}
	if h, ok := s.model.(Hosting); ok && !h.InCloud(smtp) {
		s.writeError(w, r, errNotRESTEnabled())
		return
	}
	if !s.scope.allowed(smtp, s.now()) {
		s.writeError(w, r, errAccessDenied())
		return
	}
	if e, latency := s.faults.draw(); e != nil || latency > 0 {
		if latency > 0 {
			t := s.realTime.NewTimer(latency)
			select {
			case <-t.C():
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if e != nil {
			s.writeError(w, r, e)
			return
		}
	}
	release, terr := s.throttle.admit(smtp, s.realTime.Now())
	if terr != nil {
		s.writeError(w, r, terr)
		return
	}
	defer release()
	path := strings.Join(low, "/")
	get := func(f func()) {
		if r.Method != http.MethodGet {
			s.writeError(w, r, errMethod())
			return
		}
		f()
	}
	switch path {
	case "calendarview", "calendar/calendarview":
		get(func() { s.serveCalendarView(w, r, smtp) })
	case "calendarview/delta", "calendar/calendarview/delta":
		get(func() { s.serveDelta(w, r, smtp) })
	case "events", "calendar/events":
		get(func() { s.serveEvents(w, r, smtp) })
	case "mailboxsettings", "mailboxsettings/automaticrepliessetting", "mailboxsettings/timezone", "mailboxsettings/workinghours":
		get(func() {
			s.serveMailboxSettings(w, r, smtp, strings.TrimPrefix(strings.TrimPrefix(path, "mailboxsettings"), "/"))
		})
	default:
		if len(low) == 3 && low[0] == "events" && low[2] == "instances" {
			get(func() { s.serveInstances(w, r, smtp, segs[1]) })
			return
		}
		if len(low) == 2 && low[0] == "events" {
			get(func() { s.serveEvent(w, r, smtp, segs[1]) })
			return
		}
		s.writeError(w, r, errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(segs[len(segs)-1], 80)))
	}
}

// parseWindowValue reads startDateTime/endDateTime: ISO 8601; an offset
// counts, none means UTC (graph-facts §2a).
func parseWindowValue(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
