package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/webhook"
)

// deadLettersAvailable answers 501 when no DeadLetterAdmin is configured.
func (s *server) deadLettersAvailable(w http.ResponseWriter) bool {
	if s.opts.DeadLetters == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "webhooks are not configured on this instance")
		return false
	}
	return true
}

// handleDeadLetters lists dead letters, oldest first: ?endpoint (empty:
// all), ?limit (1-1000, default 100), ?after (the next_after of the
// previous page).
func (s *server) handleDeadLetters(w http.ResponseWriter, r *http.Request) {
	if !s.deadLettersAvailable(w) {
		return
	}
	q := r.URL.Query()
	limit, err := pageLimit(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	var after uint64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("after must be the next_after of a previous page (a non-negative integer), got %q", v))
			return
		}
	}
	// One more than the page tells whether there is a next page.
	msgs, err := s.opts.DeadLetters.DeadLetters(r.Context(), store.DeadLetterQuery{Endpoint: q.Get("endpoint"), After: after, Limit: limit + 1})
	if err != nil {
		s.log.Error("api: listing dead letters failed", "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "listing the dead letters failed")
		return
	}
	out := DeadLetterListDTO{Limit: limit, DeadLetters: make([]DeadLetterDTO, 0, min(len(msgs), limit))}
	if len(msgs) > limit {
		msgs = msgs[:limit]
		out.NextAfter = msgs[limit-1].Seq
	}
	for _, m := range msgs {
		out.DeadLetters = append(out.DeadLetters, ToDeadLetterDTO(m))
	}
	s.writeJSON(w, http.StatusOK, out)
}

// handleRetryDeadLetter sends one dead letter again under its delivery id.
func (s *server) handleRetryDeadLetter(w http.ResponseWriter, r *http.Request) {
	if !s.deadLettersAvailable(w) {
		return
	}
	id := r.PathValue("id")
	m, err := s.opts.DeadLetters.RetryDeadLetter(r.Context(), id)
	if err != nil {
		s.writeRetryError(w, err, fmt.Sprintf("no dead letter has the id %q (unknown, still pending, delivered or already retried)", id), err.Error())
		return
	}
	s.writeJSON(w, http.StatusAccepted, DeadLetterRetryDTO{Endpoint: m.Endpoint, Requeued: 1, ID: m.ID})
}

// handleRetryDeadLetters sends every dead letter of ?endpoint again.
func (s *server) handleRetryDeadLetters(w http.ResponseWriter, r *http.Request) {
	if !s.deadLettersAvailable(w) {
		return
	}
	endpoint := r.URL.Query().Get("endpoint")
	if endpoint == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "endpoint is required: the name of the webhook endpoint whose dead letters to retry")
		return
	}
	n, err := s.opts.DeadLetters.RetryDeadLetters(r.Context(), endpoint)
	if err != nil {
		s.writeRetryError(w, err, "", fmt.Sprintf("no webhook endpoint named %q is configured on this instance", endpoint))
		return
	}
	s.writeJSON(w, http.StatusAccepted, DeadLetterRetryDTO{Endpoint: endpoint, Requeued: n})
}

// writeRetryError maps a retry error to its status, code and message.
func (s *server) writeRetryError(w http.ResponseWriter, err error, notFound, unknownEndpoint string) {
	switch {
	case errors.Is(err, webhook.ErrUnknownEndpoint):
		writeError(w, http.StatusNotFound, codeUnknownEndpoint, unknownEndpoint)
	case errors.Is(err, store.ErrNotFound) && notFound != "":
		writeError(w, http.StatusNotFound, codeNotFound, notFound)
	default:
		s.log.Error("api: retrying dead letters failed", "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "retrying the dead letters failed")
	}
}
