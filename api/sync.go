package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

func (s *server) handleUserSync(w http.ResponseWriter, r *http.Request) {
	if s.opts.Sync == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "sync status is not available on this instance")
		return
	}
	user := pathUser(r)
	st, err := s.opts.Sync.Status(user)
	if err != nil {
		writeUnknownUser(w, user)
		return
	}
	s.writeJSON(w, http.StatusOK, ToSyncStatusDTO(st))
}

// handleSync answers the sync overview: totals, connection groups and a page
// of mailbox statuses (?offset, ?limit, ?q, ?health=healthy|unhealthy,
// ?group=key).
func (s *server) handleSync(w http.ResponseWriter, r *http.Request) {
	if s.opts.Sync == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "sync status is not available on this instance")
		return
	}
	q := r.URL.Query()
	offset, limit, err := paging(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	health := q.Get("health")
	if health != "" && health != "healthy" && health != "unhealthy" {
		writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("health must be healthy or unhealthy, got %q", health))
		return
	}
	_, groupFiltered := q["group"]
	group := q.Get("group")
	needle := strings.ToLower(strings.TrimSpace(q.Get("q")))

	statuses := s.opts.Sync.Statuses()
	var streams []StreamGroup
	if s.opts.Groups != nil {
		streams = s.opts.Groups.StreamGroups()
	}
	groups := deriveGroups(statuses, streams, time.Now())
	out := SyncOverviewDTO{Groups: groups, Offset: offset, Limit: limit}
	if s.opts.Exchange != nil {
		out.Exchange = toExchangeDTO(s.opts.Exchange.ExchangeHealth())
	}
	matched := make([]store.MailboxStatus, 0, len(statuses))
	for _, st := range statuses {
		out.Mailboxes++
		healthy := SyncHealthy(st)
		if healthy {
			out.Healthy++
		} else {
			out.Unhealthy++
		}
		if health != "" && (health == "healthy") != healthy {
			continue
		}
		if groupFiltered && st.Group != group {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(st.SMTP), needle) {
			continue
		}
		matched = append(matched, st)
	}
	slices.SortFunc(matched, func(a, b store.MailboxStatus) int { return naturalCompare(a.SMTP, b.SMTP) })
	lo, hi := page(len(matched), offset, limit)
	out.Total = len(matched)
	out.Statuses = make([]SyncStatusDTO, 0, hi-lo)
	for _, st := range matched[lo:hi] {
		out.Statuses = append(out.Statuses, ToSyncStatusDTO(st))
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handleSyncNow(w http.ResponseWriter, r *http.Request) {
	if s.opts.SyncNow == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "sync-now is not available on this instance")
		return
	}
	user := pathUser(r)
	if !s.knownUser(user) {
		writeUnknownUser(w, user)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.SyncNowWait)
	defer cancel()
	if err := s.opts.SyncNow.SyncNow(ctx, user); err != nil {
		if errors.Is(err, ErrUnknownUser) || errors.Is(err, presence.ErrUnknownUser) {
			writeUnknownUser(w, user)
			return
		}
		if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
			// Answer before the server's write timeout cuts the connection.
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, fmt.Sprintf("the sync did not finish within %s; it goes on, see GET /api/v1/users/%s/sync", s.opts.SyncNowWait, user))
			return
		}
		s.log.Warn("api: sync-now failed", "user", user, "err", err)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the sync did not complete: "+err.Error())
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"user": user, "status": "synced"})
}

// handleHealthz answers liveness: the process serves HTTP.
func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers readiness: 503 when Options.Ready fails, otherwise
// 200 with status "ready" or "degraded" (some mailboxes unhealthy). The
// per-mailbox problems are listed only to authenticated callers.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	out := ReadinessDTO{Status: "ready"}
	status := http.StatusOK
	show := s.authenticated(r)
	if s.opts.Ready != nil {
		if err := s.opts.Ready(r.Context()); err != nil {
			out.Status, status = "not_ready", http.StatusServiceUnavailable
			out.Error = "not ready"
			if show {
				out.Error = err.Error()
			}
		}
	}
	if s.opts.Exchange != nil {
		h := s.opts.Exchange.ExchangeHealth()
		out.Exchange = toExchangeDTO(h)
		if !show {
			out.Exchange.LastError = ""
		}
		if h.State != "ok" && status == http.StatusOK {
			out.Status = "degraded"
		}
	}
	if s.opts.Sync != nil {
		var problems []MailboxProblemDTO
		byCode := map[string]int{}
		for _, st := range s.opts.Sync.Statuses() {
			if SyncHealthy(st) {
				continue
			}
			out.ProblemCount++
			code := st.State
			if st.LastError != nil {
				code = st.LastError.Code
			}
			byCode[code]++
			problems = append(problems, MailboxProblemDTO{User: st.SMTP, State: st.State, Error: toSyncErrorDTO(st.LastError)})
		}
		if show && out.ProblemCount > 0 {
			slices.SortFunc(problems, func(a, b MailboxProblemDTO) int { return naturalCompare(a.User, b.User) })
			out.Problems = problems[:min(len(problems), MaxReadinessExamples)]
			out.ProblemsByCode = byCode
		}
		if out.ProblemCount > 0 && status == http.StatusOK {
			out.Status = "degraded"
		}
	}
	s.writeJSON(w, status, out)
}

// handleOpenAPI serves the OpenAPI document.
func (s *server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, _ = w.Write(openAPIDocument)
}
