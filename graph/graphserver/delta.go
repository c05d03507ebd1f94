package graphserver

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/graph/internal/graphwire"
)

// calendarView/delta (graph-facts §2c). A round starts from the initial
// request (window given) or from a deltaLink, follows nextLinks
// ($skiptoken) and ends with a deltaLink ($deltatoken). The window is
// frozen in the token chain. Each round compares the window's events with
// what the chain last returned: new and changed events come in full,
// events gone from the window as id-only @removed entries. Tokens are
// opaque; a token the server no longer has (expired by a fault, evicted,
// or a page token used twice) answers 410 SyncStateNotFound.

// maxDeltaStates bounds the tokens kept; the oldest go first.
const maxDeltaStates = 200000

// deltaChain is what a token chain fixes: mailbox, window and page size.
type deltaChain struct {
	smtp     string
	from, to time.Time
	pageSize int
}

// deltaState is a deltaLink's state: the chain and the events (id →
// changeKey) the chain has returned so far.
type deltaState struct {
	chain *deltaChain
	seen  map[string]string
}

// deltaRound is a round in progress: its entries, the next page's offset
// and the state its deltaLink will carry.
type deltaRound struct {
	chain   *deltaChain
	entries []graphwire.Event
	offset  int
	after   map[string]string
}

type deltaStore struct {
	mu     sync.Mutex
	states map[string]*deltaState
	rounds map[string]*deltaRound
	order  []string // tokens by age, for eviction
}

func newDeltaStore() *deltaStore {
	return &deltaStore{states: map[string]*deltaState{}, rounds: map[string]*deltaRound{}}
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (d *deltaStore) remember(tok string) {
	d.order = append(d.order, tok)
	for len(d.order) > maxDeltaStates {
		old := d.order[0]
		d.order = d.order[1:]
		delete(d.states, old)
		delete(d.rounds, old)
	}
}

func (d *deltaStore) putState(st *deltaState) string {
	tok := newToken()
	d.mu.Lock()
	d.states[tok] = st
	d.remember(tok)
	d.mu.Unlock()
	return tok
}

func (d *deltaStore) putRound(rd *deltaRound) string {
	tok := newToken()
	d.mu.Lock()
	d.rounds[tok] = rd
	d.remember(tok)
	d.mu.Unlock()
	return tok
}

func (d *deltaStore) state(tok string) *deltaState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.states[tok]
}

// takeRound returns a page token's round and forgets the token: a page
// token is good for one use.
func (d *deltaStore) takeRound(tok string) *deltaRound {
	d.mu.Lock()
	defer d.mu.Unlock()
	rd := d.rounds[tok]
	delete(d.rounds, tok)
	return rd
}

// expire forgets every token of mailbox smtp ("" = all) and returns how
// many there were.
func (d *deltaStore) expire(smtp string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k, st := range d.states {
		if smtp == "" || st.chain.smtp == smtp {
			delete(d.states, k)
			n++
		}
	}
	for k, rd := range d.rounds {
		if smtp == "" || rd.chain.smtp == smtp {
			delete(d.rounds, k)
			n++
		}
	}
	return n
}

// ExpireDeltaTokens makes the delta tokens of mailbox smtp ("" = every
// mailbox) unknown: their next use answers 410 SyncStateNotFound, as when
// Exchange Online evicts a sync state. It returns how many it dropped.
func (s *Server) ExpireDeltaTokens(smtp string) int { return s.deltas.expire(strings.ToLower(smtp)) }

func errSyncStateNotFound() *apiError {
	return errorf(http.StatusGone, "SyncStateNotFound", "The sync state generation is not found; generation=%s.", newToken()[:12])
}

// serveDelta is GET /users/{id}/calendarView/delta.
func (s *Server) serveDelta(w http.ResponseWriter, r *http.Request, smtp string) {
	q := r.URL.Query()
	for _, opt := range []string{"$select", "$filter", "$orderby", "$expand", "$search"} {
		if q.Has(opt) {
			s.writeError(w, r, errorf(http.StatusBadRequest, "ErrorInvalidUrlQuery", "The following parameters are not supported with change tracking over the 'CalendarView' resource: '%s'.", opt))
			return
		}
	}
	prefs := parsePrefer(r.Header)
	z := applyZone(w, prefs)
	w.Header().Add("Preference-Applied", graphwire.PreferTrackChanges)
	base := baseURL(r) + r.URL.Path
	var rd *deltaRound
	switch {
	case q.Has("$skiptoken"):
		rd = s.deltas.takeRound(q.Get("$skiptoken"))
		if rd == nil || rd.chain.smtp != smtp {
			s.writeError(w, r, errSyncStateNotFound())
			return
		}
	case q.Has("$deltatoken"):
		st := s.deltas.state(q.Get("$deltatoken"))
		if st == nil || st.chain.smtp != smtp {
			s.writeError(w, r, errSyncStateNotFound())
			return
		}
		var e *apiError
		if rd, e = s.newRound(st.chain, st.seen, z); e != nil {
			s.writeError(w, r, e)
			return
		}
	default:
		from, to, e := windowOf(q)
		if e != nil {
			s.writeError(w, r, e)
			return
		}
		size := s.opts.PageSize
		if prefs.maxPageSize > 0 {
			size = min(prefs.maxPageSize, 1000)
		}
		chain := &deltaChain{smtp: smtp, from: from, to: to, pageSize: size}
		if rd, e = s.newRound(chain, map[string]string{}, z); e != nil {
			s.writeError(w, r, e)
			return
		}
		if s.opts.EmptyFirstDeltaPage {
			// Observed: the first page of an initial round is empty and
			// only carries the nextLink.
			tok := s.deltas.putRound(rd)
			writeJSON(w, http.StatusOK, graphwire.EventPage{Value: []graphwire.Event{}, NextLink: base + "?$skiptoken=" + url.QueryEscape(tok)})
			return
		}
	}
	if prefs.maxPageSize > 0 {
		w.Header().Add("Preference-Applied", "odata.maxpagesize="+itoa(rd.chain.pageSize))
	}
	end := min(rd.offset+rd.chain.pageSize, len(rd.entries))
	page := graphwire.EventPage{ODataContext: "https://graph.microsoft.com/v1.0/$metadata#Collection(event)", Value: rd.entries[rd.offset:end]}
	if page.Value == nil {
		page.Value = []graphwire.Event{}
	}
	rd.offset = end
	if end < len(rd.entries) {
		page.NextLink = base + "?$skiptoken=" + url.QueryEscape(s.deltas.putRound(rd))
	} else {
		page.DeltaLink = base + "?$deltatoken=" + url.QueryEscape(s.deltas.putState(&deltaState{chain: rd.chain, seen: rd.after}))
	}
	writeJSON(w, http.StatusOK, page)
}

// newRound compares the chain's window now with what it returned before.
// Start and end are rendered in the zone of the round's first request.
func (s *Server) newRound(chain *deltaChain, seen map[string]string, z zone) (*deltaRound, *apiError) {
	items, err := s.model.Occurrences(chain.smtp, chain.from, chain.to)
	if err != nil {
		return nil, errInvalidUser(chain.smtp)
	}
	rd := &deltaRound{chain: chain, after: make(map[string]string, len(items))}
	for _, it := range items {
		id := graphID(it.ItemId.Id)
		rd.after[id] = it.ItemId.ChangeKey
		if ck, ok := seen[id]; ok && ck == it.ItemId.ChangeKey {
			continue
		}
		e := s.renderEvent(it, z)
		if s.opts.SparseDeltaOccurrences && e.Type == "occurrence" {
			e = sparse(e)
		}
		rd.entries = append(rd.entries, e)
	}
	if s.opts.DeltaReplays && len(seen) > 0 {
		for _, it := range items {
			if ck, ok := seen[graphID(it.ItemId.Id)]; ok && ck == it.ItemId.ChangeKey {
				rd.entries = append(rd.entries, s.renderEvent(it, z))
				break
			}
		}
	}
	for id := range seen {
		if _, ok := rd.after[id]; !ok {
			rd.entries = append(rd.entries, graphwire.RemovedEntry(id, "deleted"))
		}
	}
	return rd, nil
}
