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

// ErrorDetail is a machine-readable code and a human-readable message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError writes {"error": {"code", "message"}} with the status.
func writeError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
