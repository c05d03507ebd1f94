package graphexchange_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGraph is a small Graph for the end-to-end test until the
// simulator's Graph face (graph/graphserver) is there: a token endpoint,
// calendarView (paged by 2), calendarView/delta with generations as
// tokens (410 SyncStateNotFound below a minimum), mailboxSettings,
// $batch, and on-premises mailboxes answering MailboxNotEnabledForRESTAPI.
type fakeGraph struct {
	srv *httptest.Server
	mu  sync.Mutex
	gen int
	mbx map[string]*fakeMailbox
}

type fakeMailbox struct {
	onPrem  bool
	events  map[string]fakeEvent
	deleted map[string]int // id → generation of the delete
	minGen  int            // tokens below are gone
	oof     string         // automaticRepliesSetting status
}

type fakeEvent struct {
	ID, Subject string
	Start, End  time.Time
	ShowAs      string
	gen         int
}

func newFakeGraph(t *testing.T) *fakeGraph {
	f := &fakeGraph{mbx: map[string]*fakeMailbox{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tenant/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("client_secret") != "secret" {
			writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "good"})
	})
	mux.HandleFunc("GET /v1.0/users/{id}/calendarView", f.calendarView)
	mux.HandleFunc("GET /v1.0/users/{id}/calendarView/delta", f.delta)
	mux.HandleFunc("GET /v1.0/users/{id}/mailboxSettings", func(w http.ResponseWriter, r *http.Request) {
		m, ok := f.mailbox(w, r, r.PathValue("id"))
		if ok {
			writeJSON(w, 200, map[string]any{"timeZone": "W. Europe Standard Time", "automaticRepliesSetting": map[string]any{"status": m.oof}})
		}
	})
	mux.HandleFunc("POST /v1.0/$batch", f.batch)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") && r.Header.Get("Authorization") != "Bearer good" {
			writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "InvalidAuthenticationToken", "message": "Access token is empty."}})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGraph) add(smtp string, onPrem bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mbx[smtp] = &fakeMailbox{onPrem: onPrem, events: map[string]fakeEvent{}, deleted: map[string]int{}, oof: "Disabled"}
}

// put creates or changes an event.
func (f *fakeGraph) put(smtp string, e fakeEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	e.gen = f.gen
	m := f.mbx[smtp]
	m.events[e.ID] = e
	delete(m.deleted, e.ID)
}

func (f *fakeGraph) remove(smtp, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	m := f.mbx[smtp]
	delete(m.events, id)
	m.deleted[id] = f.gen
}

// expireTokens makes every delta token of smtp unknown.
func (f *fakeGraph) expireTokens(smtp string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	f.mbx[smtp].minGen = f.gen
}

// truth returns the events of smtp overlapping [start, end), by id.
func (f *fakeGraph) truth(smtp string, start, end time.Time) []fakeEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeEvent
	for _, e := range f.mbx[smtp].events {
		if e.End.After(start) && e.Start.Before(end) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (f *fakeGraph) mailbox(w http.ResponseWriter, _ *http.Request, id string) (*fakeMailbox, bool) {
	f.mu.Lock()
	m := f.mbx[id]
	f.mu.Unlock()
	switch {
	case m == nil:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "ErrorInvalidUser", "message": "The requested user '" + id + "' is invalid."}})
		return nil, false
	case m.onPrem:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "MailboxNotEnabledForRESTAPI", "message": "The mailbox is either inactive, soft-deleted, or is hosted on-premise."}})
		return nil, false
	}
	return m, true
}

func wire(e fakeEvent) map[string]any {
	return map[string]any{"id": e.ID, "type": "singleInstance", "subject": e.Subject, "showAs": e.ShowAs, "changeKey": strconv.Itoa(e.gen),
		"start": map[string]string{"dateTime": e.Start.UTC().Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"},
		"end":   map[string]string{"dateTime": e.End.UTC().Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"}}
}

func window(r *http.Request) (time.Time, time.Time, bool) {
	s, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("startDateTime"))
	e, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("endDateTime"))
	return s, e, err1 == nil && err2 == nil
}

func (f *fakeGraph) calendarView(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := f.mailbox(w, r, id); !ok {
		return
	}
	start, end, ok := window(r)
	if !ok {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "ErrorInvalidParameter", "message": "window"}})
		return
	}
	all := f.truth(id, start, end)
	skip, _ := strconv.Atoi(r.URL.Query().Get("$skip"))
	page := map[string]any{"value": []any{}}
	var vals []any
	for i := skip; i < len(all) && i < skip+2; i++ {
		vals = append(vals, wire(all[i]))
	}
	if vals != nil {
		page["value"] = vals
	}
	if skip+2 < len(all) {
		q := r.URL.Query()
		q.Set("$skip", strconv.Itoa(skip+2))
		page["@odata.nextLink"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, 200, page)
}

// delta: the token is "<generation>/<start>/<end>".
func (f *fakeGraph) delta(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, ok := f.mailbox(w, r, id)
	if !ok {
		return
	}
	f.mu.Lock()
	gen, minGen := f.gen, m.minGen
	f.mu.Unlock()
	base := "http://" + r.Host + r.URL.Path + "?$deltatoken="
	if tok := r.URL.Query().Get("$deltatoken"); tok != "" {
		parts := strings.SplitN(tok, "/", 3)
		since, _ := strconv.Atoi(parts[0])
		if since < minGen || len(parts) != 3 {
			writeJSON(w, 410, map[string]any{"error": map[string]any{"code": "SyncStateNotFound", "message": "The sync state generation is not found; generation=" + parts[0]}})
			return
		}
		start, _ := time.Parse(time.RFC3339, parts[1])
		end, _ := time.Parse(time.RFC3339, parts[2])
		var vals []any
		for _, e := range f.truth(id, start, end) {
			if e.gen > since {
				vals = append(vals, wire(e))
			}
		}
		f.mu.Lock()
		for did, g := range m.deleted {
			if g > since {
				vals = append(vals, map[string]any{"@odata.type": "#microsoft.graph.event", "id": did, "@removed": map[string]string{"reason": "deleted"}})
			}
		}
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"value": append([]any{}, vals...), "@odata.deltaLink": base + strconv.Itoa(gen) + "/" + parts[1] + "/" + parts[2]})
		return
	}
	start, end, ok := window(r)
	if !ok {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "ErrorInvalidParameter", "message": "window"}})
		return
	}
	var vals []any
	for _, e := range f.truth(id, start, end) {
		vals = append(vals, wire(e))
	}
	writeJSON(w, 200, map[string]any{"value": append([]any{}, vals...),
		"@odata.deltaLink": base + strconv.Itoa(gen) + "/" + start.Format(time.RFC3339) + "/" + end.Format(time.RFC3339)})
}

func (f *fakeGraph) batch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Requests []struct{ ID, Method, URL string } `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Requests) > 20 {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "bad batch"}})
		return
	}
	var resp []any
	for _, it := range req.Requests {
		id := strings.TrimSuffix(strings.TrimPrefix(it.URL, "/users/"), "/mailboxSettings/automaticRepliesSetting")
		f.mu.Lock()
		m := f.mbx[id]
		f.mu.Unlock()
		if m == nil || m.onPrem {
			resp = append(resp, map[string]any{"id": it.ID, "status": 404, "body": map[string]any{"error": map[string]any{"code": "MailboxNotEnabledForRESTAPI", "message": "x"}}})
			continue
		}
		resp = append(resp, map[string]any{"id": it.ID, "status": 200, "body": map[string]any{"status": m.oof}})
	}
	writeJSON(w, 200, map[string]any{"responses": resp})
}
