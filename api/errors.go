package api

import (
	"encoding/json"
	"net/http"
)

// Error codes of the JSON error document {"error": {"code", "message"}}.
const (
	codeBadRequest       = "bad_request"
	codeInvalidRange     = "invalid_range"
	codeUnknownUser      = "unknown_user"
	codeUnknownEndpoint  = "unknown_endpoint"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotImplemented   = "not_implemented"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal"
)

// ErrorBody is the JSON document of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a machine-readable code and a human-readable message;
// Field names the request field at fault when there is one.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError writes {"error": {"code", "message"}} with the status.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeErrorDetail(w, status, ErrorDetail{Code: code, Message: message})
}

// writeFieldError is a 400 about one request field; the message starts
// with the field's name.
func writeFieldError(w http.ResponseWriter, e *fieldError) {
	writeErrorDetail(w, http.StatusBadRequest, ErrorDetail{Code: e.code, Message: e.Error(), Field: e.field})
}

// fieldError is a bad value of one request field.
type fieldError struct {
	field, code, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func writeErrorDetail(w http.ResponseWriter, status int, detail ErrorDetail) {
	body, _ := json.Marshal(ErrorBody{Error: detail})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
