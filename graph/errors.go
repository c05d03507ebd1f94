package graph

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorCode is error.code of a Graph error body. Graph documents camelCase
// generic codes; Outlook (calendar, mailbox settings) answers with
// Exchange's ErrorXxx codes instead. Compare with IsCode, which ignores
// case, never with the message.
type ErrorCode string

// Generic Graph codes (graph-facts §7).
const (
	CodeAccessDenied         ErrorCode = "accessDenied"
	CodeActivityLimitReached ErrorCode = "activityLimitReached"
	CodeExtensionError       ErrorCode = "extensionError"
	CodeGeneralException     ErrorCode = "generalException"
	CodeInvalidRequest       ErrorCode = "invalidRequest"
	CodeItemNotFound         ErrorCode = "itemNotFound"
	CodeResyncRequired       ErrorCode = "resyncRequired"
	CodeServiceNotAvailable  ErrorCode = "serviceNotAvailable"
	CodeSyncStateNotFound    ErrorCode = "syncStateNotFound"
	CodeUnauthenticated      ErrorCode = "unauthenticated"
	CodeTooManyRequests      ErrorCode = "TooManyRequests"
)

// Outlook codes observed on Graph (graph-facts §7).
const (
	CodeErrorItemNotFound           ErrorCode = "ErrorItemNotFound"
	CodeErrorInvalidUser            ErrorCode = "ErrorInvalidUser"
	CodeErrorAccessDenied           ErrorCode = "ErrorAccessDenied"
	CodeMailboxNotEnabledForRESTAPI ErrorCode = "MailboxNotEnabledForRESTAPI"
	CodeApplicationThrottled        ErrorCode = "ApplicationThrottled"
	CodeInvalidAuthenticationToken  ErrorCode = "InvalidAuthenticationToken"
	CodeResourceNotFound            ErrorCode = "ResourceNotFound"
	CodeAuthorizationRequestDenied  ErrorCode = "Authorization_RequestDenied"
	CodeErrorMailboxMoveInProgress  ErrorCode = "ErrorMailboxMoveInProgress"
	CodeErrorServerBusy             ErrorCode = "ErrorServerBusy"
	CodeErrorInvalidParameter       ErrorCode = "ErrorInvalidParameter"
)

// Error is a Graph answer with an error status (and usually an error
// body): the whole call's, or one inner response of a $batch.
type Error struct {
	// Op names the operation ("calendarView", "delta", "$batch[3]").
	Op         string
	StatusCode int
	Code       ErrorCode
	Message    string
	// RequestID is the request-id header or innerError's request-id.
	RequestID string
	// RetryAfter is the Retry-After hint, 0 if none.
	RetryAfter time.Duration
	// Location is the Location header (a 410 on delta carries one).
	Location string
}

// Error formats "graph: Op: HTTP 404 MailboxNotEnabledForRESTAPI: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(string(e.Code))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Describe is the answer for people, without the code.
func (e *Error) Describe() string {
	text := strings.TrimSpace(e.Message)
	if text == "" {
		text = "Microsoft Graph answered HTTP " + strconv.Itoa(e.StatusCode)
		if t := http.StatusText(e.StatusCode); t != "" {
			text += " " + t
		}
	}
	if e.Op != "" {
		text += " (" + e.Op + ")"
	}
	if e.RetryAfter > 0 {
		text += fmt.Sprintf("; Graph asks to wait %s", e.RetryAfter)
	}
	return text
}

// TokenError is a failure of the token endpoint: the credentials or the
// configuration rejected (HTTP 400/401 with an OAuth error), or the
// endpoint failing or unreachable (then Err says why and StatusCode is 0
// or 5xx). It never contains the secret or the assertion.
type TokenError struct {
	StatusCode int
	// Code is the OAuth error ("invalid_client", "invalid_scope", …).
	Code string
	// Description is error_description ("AADSTS7000215: Invalid client
	// secret provided. …"); AADSTS holds error_codes.
	Description string
	AADSTS      []int
	Err         error
}

// Error formats "graph: token: HTTP 401 invalid_client: description".
func (e *TokenError) Error() string {
	s := "graph: token"
	if e.StatusCode != 0 {
		s += ": HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + firstLine(e.Description)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// Describe is the failure for people.
func (e *TokenError) Describe() string {
	return "token endpoint: " + strings.TrimPrefix(e.Error(), "graph: token: ")
}

// Rejected reports whether the token endpoint refused the credentials
// (as opposed to being unreachable or failing).
func (e *TokenError) Rejected() bool {
	switch e.Code {
	case "invalid_client", "unauthorized_client", "invalid_grant":
		return true
	}
	return e.StatusCode == http.StatusUnauthorized
}

// NetworkError wraps a transport failure: DNS, connect, TLS, reset,
// timeout, or a body that ended early.
type NetworkError struct {
	Op  string
	Err error
}

// Error formats "graph: Op: network: cause".
func (e *NetworkError) Error() string { return "graph: " + e.Op + ": network: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// Describe is the failure for people.
func (e *NetworkError) Describe() string { return "network error in " + e.Op + ": " + e.Err.Error() }

// Timeout reports whether the cause was a timeout.
func (e *NetworkError) Timeout() bool {
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout() || errors.Is(e.Err, context.DeadlineExceeded)
}

// ProtocolError reports an answer that is not what Graph sends: malformed
// JSON, a required field missing, a body over the size limit, a link to
// another host.
type ProtocolError struct {
	Op  string
	Err error
}

// Error formats "graph: Op: invalid response: cause".
func (e *ProtocolError) Error() string {
	return "graph: " + e.Op + ": invalid response: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Describe is the failure for people.
func (e *ProtocolError) Describe() string {
	return "invalid response to " + e.Op + ": " + e.Err.Error()
}

// CodeOf returns the Graph error code in err's chain.
func CodeOf(err error) (ErrorCode, bool) {
	var ge *Error
	if errors.As(err, &ge) && ge.Code != "" {
		return ge.Code, true
	}
	return "", false
}

// IsCode reports whether err carries one of codes, ignoring case
// (SyncStateNotFound and syncStateNotFound are the same code).
func IsCode(err error, codes ...ErrorCode) bool {
	c, ok := CodeOf(err)
	if !ok {
		return false
	}
	for _, want := range codes {
		if strings.EqualFold(string(c), string(want)) {
			return true
		}
	}
	return false
}

// StatusOf returns the HTTP status of a Graph error in err's chain, 0 if
// none.
func StatusOf(err error) int {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.StatusCode
	}
	var te *TokenError
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// ParseRetryAfter reads a Retry-After header: delta seconds, which Graph
// may send fractional ("2.128"), or an HTTP date (relative to now). Absent,
// negative, malformed or absurd (over a day) values report false.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 86400 || secs != secs {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		if d > 24*time.Hour {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
