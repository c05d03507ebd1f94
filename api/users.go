package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// Paging bounds of list endpoints.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
	maxBodyBytes     = 1 << 20
)

// validAvailability lists the availabilities accepted in filters and overrides.
var validAvailability = map[string]bool{
	string(presence.Available): true, string(presence.Tentative): true, string(presence.Busy): true,
	string(presence.OutOfOffice): true, string(presence.WorkingElsewhere): true, string(presence.Unknown): true,
}

// paging parses offset and limit.
func paging(q url.Values) (offset, limit int, err error) {
	offset, limit = 0, defaultPageLimit
	if v := q.Get("offset"); v != "" {
		offset, err = strconv.Atoi(v)
		if err != nil || offset < 0 {
			return 0, 0, fmt.Errorf("offset must be a non-negative integer, got %q", v)
		}
	}
	if limit, err = pageLimit(q); err != nil {
		return 0, 0, err
	}
	return offset, limit, nil
}

// pageLimit parses limit (1 to maxPageLimit, default defaultPageLimit).
func pageLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return defaultPageLimit, nil
	}
	limit, err := strconv.Atoi(v)
	if err != nil || limit < 1 || limit > maxPageLimit {
		return 0, fmt.Errorf("limit must be an integer between 1 and %d, got %q", maxPageLimit, v)
	}
	return limit, nil
}

// page returns the [offset, offset+limit) slice bounds for n items.
func page(n, offset, limit int) (lo, hi int) {
	lo = min(offset, n)
	hi = min(lo+limit, n)
	return lo, hi
}

func (s *server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, limit, err := paging(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	wantAvail := map[string]bool{}
	if v := q.Get("availability"); v != "" {
		for a := range strings.SplitSeq(v, ",") {
			a = strings.TrimSpace(a)
			if !validAvailability[a] {
				writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("unknown availability %q", a))
				return
			}
			wantAvail[a] = true
		}
	}
	syncFilter := q.Get("sync")
	if syncFilter != "" && syncFilter != "healthy" && syncFilter != "unhealthy" {
		writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("sync must be healthy or unhealthy, got %q", syncFilter))
		return
	}
	needle := strings.ToLower(strings.TrimSpace(q.Get("q")))

	var eventID uint64
	if s.opts.Events != nil {
		eventID = s.opts.Events.LastID()
	}
	// Statuses of all users are only needed to filter by sync health;
	// otherwise the page's users are looked up one by one.
	var statuses map[string]store.MailboxStatus
	if s.opts.Sync != nil && syncFilter != "" {
		all := s.opts.Sync.Statuses()
		statuses = make(map[string]store.MailboxStatus, len(all))
		for _, st := range all {
			statuses[st.SMTP] = st
		}
	}
	statusOf := func(user string) (store.MailboxStatus, bool) {
		if statuses != nil {
			st, ok := statuses[user]
			return st, ok
		}
		if s.opts.Sync == nil {
			return store.MailboxStatus{}, false
		}
		st, err := s.opts.Sync.Status(user)
		return st, err == nil
	}
	all := s.opts.Presence.All()
	counts := map[string]int{}
	// matched indexes all, so that sorting moves ints, not presences.
	matched := make([]int, 0, len(all))
	for i := range all {
		p := &all[i]
		counts[string(p.Availability)]++
		if len(wantAvail) > 0 && !wantAvail[string(p.Availability)] {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(p.User), needle) && !strings.Contains(strings.ToLower(p.StatusText), needle) {
			continue
		}
		if syncFilter != "" {
			st, ok := statusOf(p.User)
			healthy := ok && SyncHealthy(st)
			if (syncFilter == "healthy") != healthy {
				continue
			}
		}
		matched = append(matched, i)
	}
	slices.SortFunc(matched, func(a, b int) int { return naturalCompare(all[a].User, all[b].User) })
	lo, hi := page(len(matched), offset, limit)
	out := UserListDTO{Total: len(matched), Offset: offset, Limit: limit, Counts: counts, EventID: eventID, Users: make([]UserDTO, 0, hi-lo)}
	for _, i := range matched[lo:hi] {
		p := all[i]
		u := UserDTO{PresenceDTO: ToPresenceDTO(p)}
		if st, ok := statusOf(p.User); ok {
			u.Sync = toSyncSummary(st)
		}
		out.Users = append(out.Users, u)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handlePresence(w http.ResponseWriter, r *http.Request) {
	user := pathUser(r)
	p, ok := s.opts.Presence.Current(user)
	if !ok {
		writeUnknownUser(w, user)
		return
	}
	s.writeJSON(w, http.StatusOK, ToPresenceDTO(p))
}

func writeUnknownUser(w http.ResponseWriter, user string) {
	writeError(w, http.StatusNotFound, codeUnknownUser, fmt.Sprintf("user %q is not synced by this instance", user))
}

// knownUser reports whether the presence scheduler or the engine knows user.
func (s *server) knownUser(user string) bool {
	if _, ok := s.opts.Presence.Current(user); ok {
		return true
	}
	if s.opts.Sync == nil {
		return false
	}
	_, err := s.opts.Sync.Status(user)
	return err == nil
}

// parseInstant parses an RFC 3339 query value; empty returns def.
func parseInstant(q url.Values, name string, def time.Time) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be an RFC 3339 instant such as 2026-03-29T00:00:00Z, got %q", name, v)
	}
	return t, nil
}

// userZone is the zone the user's presence is evaluated in (the mailbox's
// own, else the configured default), UTC for a user without presence.
func (s *server) userZone(user string) *time.Location {
	if p, ok := s.opts.Presence.Current(user); ok && p.TimeZone != "" {
		if loc, err := time.LoadLocation(p.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (s *server) handleAgenda(w http.ResponseWriter, r *http.Request) {
	if s.opts.Agenda == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "agenda is not available on this instance")
		return
	}
	user := pathUser(r)
	q := r.URL.Query()
	zone := s.userZone(user)
	now := s.clock.Now().In(zone)
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	start, err := parseInstant(q, "start", dayStart)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidRange, err.Error())
		return
	}
	defEnd := start.Add(24 * time.Hour)
	if q.Get("start") == "" {
		defEnd = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, zone) // 23 or 25 hours on DST days
	}
	end, err := parseInstant(q, "end", defEnd)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidRange, err.Error())
		return
	}
	if !end.After(start) {
		writeError(w, http.StatusBadRequest, codeInvalidRange, "end must be after start")
		return
	}
	if end.Sub(start) > s.opts.MaxAgendaRange {
		writeError(w, http.StatusBadRequest, codeInvalidRange, fmt.Sprintf("the range may span at most %s", humanSpan(s.opts.MaxAgendaRange)))
		return
	}
	if !s.knownUser(user) {
		writeUnknownUser(w, user)
		return
	}
	occs, err := s.opts.Agenda.Occurrences(r.Context(), user, start, end)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, "reading occurrences", err)
		return
	}
	out := AgendaDTO{User: user, Start: start.UTC(), End: end.UTC(), TimeZone: zone.String(), Items: make([]AgendaItemDTO, 0, len(occs))}
	for _, o := range occs {
		reveal := s.opts.RevealPrivate != nil && s.opts.RevealPrivate(user, o)
		out.Items = append(out.Items, ToAgendaItemDTO(o, reveal))
	}
	s.writeJSON(w, http.StatusOK, out)
}

// decodeBody decodes a JSON request body strictly into v; an empty body
// leaves v unchanged when allowEmpty.
func decodeBody(r *http.Request, v any, allowEmpty bool) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if len(body) > maxBodyBytes {
		return fmt.Errorf("the body exceeds %d bytes", maxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return errors.New("a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(body, v, err)
	}
	if dec.More() {
		return errors.New("invalid JSON body: trailing data after the object")
	}
	return nil
}

// sourceError maps an error of a source to a response.
func (s *server) sourceError(w http.ResponseWriter, user, what string, err error) {
	switch {
	case errors.Is(err, ErrUnknownUser), errors.Is(err, presence.ErrUnknownUser), errors.Is(err, store.ErrNotFound):
		writeUnknownUser(w, user)
	case errors.Is(err, ErrInvalidInput), errors.Is(err, presence.ErrInvalidRule):
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the request was cancelled")
	default:
		s.internalError(w, what, err)
	}
}

// internalError logs err and answers 500 without revealing internals.
func (s *server) internalError(w http.ResponseWriter, what string, err error) {
	s.log.Error("api: "+what, "err", err)
	writeError(w, http.StatusInternalServerError, codeInternal, "internal error while "+what)
}

func (s *server) handleSetOverride(w http.ResponseWriter, r *http.Request) {
	if s.opts.Overrides == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "overrides are not available on this instance")
		return
	}
	user := pathUser(r)
	var req OverrideRequest
	if err := decodeBody(r, &req, false); err != nil {
		writeBodyError(w, err)
		return
	}
	o, ferr := overrideFromRequest(req, s.clock.Now())
	if ferr != nil {
		writeFieldError(w, ferr)
		return
	}
	p, err := s.opts.Overrides.SetOverride(r.Context(), user, o)
	if err != nil {
		s.sourceError(w, user, "setting the override", err)
		return
	}
	s.writeJSON(w, http.StatusOK, ToPresenceDTO(p))
}

func (s *server) handleClearOverride(w http.ResponseWriter, r *http.Request) {
	if s.opts.Overrides == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "overrides are not available on this instance")
		return
	}
	user := pathUser(r)
	p, err := s.opts.Overrides.ClearOverride(r.Context(), user)
	if err != nil {
		s.sourceError(w, user, "clearing the override", err)
		return
	}
	s.writeJSON(w, http.StatusOK, ToPresenceDTO(p))
}

func (s *server) handleDryRun(w http.ResponseWriter, r *http.Request) {
	if s.opts.DryRun == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "dry-run is not available on this instance")
		return
	}
	user := pathUser(r)
	var req DryRunRequest
	if err := decodeBody(r, &req, true); err != nil {
		writeBodyError(w, err)
		return
	}
	start := s.clock.Now().UTC()
	if req.Start != nil {
		start = req.Start.UTC()
	}
	if req.Days < 0 || req.Days > 14 {
		writeError(w, http.StatusBadRequest, codeInvalidRange, fmt.Sprintf("days must be between 1 and 14, got %d", req.Days))
		return
	}
	days := req.Days
	if days == 0 {
		days = 7
	}
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	if req.End != nil {
		end = req.End.UTC()
	}
	if !end.After(start) {
		writeError(w, http.StatusBadRequest, codeInvalidRange, "end must be after start")
		return
	}
	if end.Sub(start) > s.opts.MaxDryRunRange {
		writeError(w, http.StatusBadRequest, codeInvalidRange, fmt.Sprintf("the preview may span at most %s", humanSpan(s.opts.MaxDryRunRange)))
		return
	}
	rules := "current"
	var proposed *presence.CompiledRules
	if len(req.Rules) > 0 && string(req.Rules) != "null" {
		compiled, err := compileProposedRules(req.Rules)
		if err != nil {
			writeFieldError(w, &fieldError{"rules", codeBadRequest, err.Error()})
			return
		}
		rules, proposed = "proposed", compiled
	}
	if _, ok := s.opts.Presence.Current(user); !ok {
		writeUnknownUser(w, user)
		return
	}
	timeline, err := s.opts.DryRun.DryRun(r.Context(), user, proposed, start, end)
	if err != nil {
		s.sourceError(w, user, "previewing the timeline", err)
		return
	}
	out := DryRunDTO{User: user, Start: start, End: end, Rules: rules, Timeline: make([]PresenceDTO, 0, len(timeline))}
	for _, p := range timeline {
		out.Timeline = append(out.Timeline, ToPresenceDTO(p))
	}
	s.writeJSON(w, http.StatusOK, out)
}

// compileProposedRules decodes a proposed rule set, an array of rules or a
// rule-set object with options, strictly, and compiles it.
func compileProposedRules(raw json.RawMessage) (*presence.CompiledRules, error) {
	if raw[0] != '[' && raw[0] != '{' {
		return nil, errors.New("rules must be a JSON array of rules or a rule set object")
	}
	compiled, err := presence.ParseRulesJSON(raw)
	if err == nil {
		return compiled, nil
	}
	problems := presence.RuleErrors(err)
	if len(problems) == 0 {
		return nil, fmt.Errorf("rules: %w", err)
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Describe()
	}
	return nil, errors.New(strings.Join(msgs, "; "))
}

// pathUser returns the {user} path value normalised like the engine's
// mailbox keys: trimmed and lower-case (Exchange addresses are
// case-insensitive).
func pathUser(r *http.Request) string {
	return strings.ToLower(strings.TrimSpace(r.PathValue("user")))
}

// humanSpan prints a range limit in days when it is whole days ("62 days"),
// otherwise as a duration.
func humanSpan(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}
