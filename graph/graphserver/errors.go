package graphserver

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/calsync/calsync/graph/internal/graphwire"
)

// contentType is what Graph sends with JSON answers (graph-facts §7).
const contentType = graphwire.ContentType

// apiError is a Graph error answer: HTTP status, code and message. Codes
// keep the casing graph-facts.md records for each (Outlook's "Error…" codes,
// Graph's camelCase ones), since clients match on them.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter string // Retry-After header value, when set
	authHeader string // WWW-Authenticate, for 401s
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// The errors graph-facts.md §7 records, with their observed messages.
func errInvalidUser(id string) *apiError {
	return errorf(http.StatusNotFound, "ErrorInvalidUser", "The requested user '%s' is invalid.", id)
}

func errItemNotFound() *apiError {
	return errorf(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

func errResourceNotFound() *apiError {
	return errorf(http.StatusNotFound, "ResourceNotFound", "Resource could not be discovered.")
}

func errNotRESTEnabled() *apiError {
	return errorf(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
}

func errBadRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "BadRequest", format, args...)
}

func errMethod() *apiError {
	return errorf(http.StatusMethodNotAllowed, "Request_BadRequest", "The requested HTTP method is not supported by this resource.")
}

// errorPayload renders e as Graph's JSON error body (Graph's examples
// spell innerError).
func errorPayload(e *apiError, requestID, clientRequestID string, now time.Time) graphwire.ErrorBody {
	return graphwire.ErrorBody{Error: graphwire.ErrorDetail{Code: e.code, Message: e.message, InnerError: &graphwire.InnerError{
		RequestID: requestID, Date: now.UTC().Format("2006-01-02T15:04:05"), ClientRequestID: clientRequestID}}}
}

// writeJSON writes a JSON answer with Graph's content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is built by this package; a failure is a bug.
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"generalException","message":"The server could not encode its answer."}}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes e with the request's ids.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	if e.authHeader != "" {
		w.Header().Set("WWW-Authenticate", e.authHeader)
	}
	writeJSON(w, e.status, errorPayload(e, w.Header().Get("request-id"), r.Header.Get("client-request-id"), s.now()))
}

// newGUID returns a random RFC 4122 version 4 GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
