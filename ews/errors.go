package ews

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Names of MessageXml values with a meaning for clients.
const (
	ValueBackOffMilliseconds    = "BackOffMilliseconds"
	ValueInnerErrorResponseCode = "InnerErrorResponseCode"
	ValuePolicyLimit            = "PolicyLimit"
	ValueLineNumber             = "LineNumber"
	ValueLinePosition           = "LinePosition"
	ValueViolation              = "Violation"
)

// ResponseError is a response message with ResponseClass Error or Warning
// (m:ResponseMessageType), per item of a batch or for the whole call.
type ResponseError struct {
	// Op is the EWS operation, e.g. "GetItem".
	Op string
	// Index is the position of the failing input in a batch, or -1.
	Index       int
	Class       ResponseClass
	Code        ResponseCode
	MessageText string
	// DescriptiveLinkKey is the rarely used numeric key, 0 if absent.
	DescriptiveLinkKey int
	// MessageXml holds the t:Value elements by Name (BackOffMilliseconds,
	// PolicyLimit, …) and other child elements by local name.
	MessageXml map[string]string
	// BackOff is the server's BackOffMilliseconds hint, 0 if none.
	BackOff time.Duration
}

// Error formats "ews: Op: Code: text".
func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString("ews: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		if e.Index >= 0 {
			fmt.Fprintf(&b, "[%d]", e.Index)
		}
		b.WriteString(": ")
	}
	b.WriteString(string(e.Code))
	if e.MessageText != "" {
		b.WriteString(": ")
		b.WriteString(e.MessageText)
	}
	if e.BackOff > 0 {
		fmt.Fprintf(&b, " (back off %s)", e.BackOff)
	}
	return b.String()
}

// Describe says what Exchange answered, for people: the MessageText and
// the operation, without the code (status documents carry it separately).
func (e *ResponseError) Describe() string {
	text := strings.TrimSpace(e.MessageText)
	if text == "" {
		text = "Exchange answered " + string(e.Code)
	}
	if e.Op != "" {
		text += " (" + e.Op + ")"
	}
	if e.BackOff > 0 {
		text += fmt.Sprintf("; Exchange asks to wait %s", e.BackOff)
	}
	return text
}

// InnerCode returns MessageXml's InnerErrorResponseCode (sent with
// ErrorInternalServerError), or "".
func (e *ResponseError) InnerCode() ResponseCode {
	return ResponseCode(e.MessageXml[ValueInnerErrorResponseCode])
}

// SOAPFault is a SOAP 1.1 fault (HTTP 500) with its EWS detail:
// e:ResponseCode, e:Message and the types-namespace t:MessageXml.
type SOAPFault struct {
	// FaultCode is the local part of faultcode ("ErrorServerBusy",
	// "Client", "Server"); FaultCodeSpace its namespace URI.
	FaultCode      string
	FaultCodeSpace string
	FaultString    string
	FaultActor     string
	// Code is detail/ResponseCode; for faults without detail it is taken
	// from FaultCode when that names an EWS code.
	Code       ResponseCode
	Message    string
	MessageXml map[string]string
	BackOff    time.Duration
	// StatusCode is the HTTP status the fault came with (normally 500).
	StatusCode int
}

// Error formats "ews: SOAP fault Code: string".
func (f *SOAPFault) Error() string {
	code := string(f.Code)
	if code == "" {
		code = f.FaultCode
	}
	msg := f.FaultString
	if msg == "" {
		msg = f.Message
	}
	s := "ews: SOAP fault " + code
	if msg != "" {
		s += ": " + msg
	}
	if v := f.MessageXml[ValueViolation]; v != "" {
		s += fmt.Sprintf(" (line %s, position %s: %s)", f.MessageXml[ValueLineNumber], f.MessageXml[ValueLinePosition], v)
	}
	if f.BackOff > 0 {
		s += fmt.Sprintf(" (back off %s)", f.BackOff)
	}
	return s
}

// Describe is the fault's text for people, without the code.
func (f *SOAPFault) Describe() string {
	msg := strings.TrimSpace(f.FaultString)
	if msg == "" {
		msg = strings.TrimSpace(f.Message)
	}
	if msg == "" {
		msg = "Exchange answered a SOAP fault"
	}
	if v := f.MessageXml[ValueViolation]; v != "" {
		msg += fmt.Sprintf(" (line %s, position %s: %s)", f.MessageXml[ValueLineNumber], f.MessageXml[ValueLinePosition], v)
	}
	if f.BackOff > 0 {
		msg += fmt.Sprintf("; Exchange asks to wait %s", f.BackOff)
	}
	return msg
}

// HTTPError is a non-200 HTTP answer that is not an EWS SOAP message: 401,
// 403, 503 (also without body), 502/504, 429, redirects.
type HTTPError struct {
	StatusCode int
	Status     string
	// RetryAfter is the Retry-After header, 0 if absent.
	RetryAfter time.Duration
	// Location is the redirect target for 3xx answers.
	Location string
	// Body is the start of the response body (at most 512 bytes), for
	// diagnostics. It never contains request credentials.
	Body string
	// Err is an underlying cause, if any.
	Err error
}

// Error formats "ews: HTTP 503 Service Unavailable".
func (e *HTTPError) Error() string {
	s := "ews: HTTP " + strconv.Itoa(e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		s += " " + t
	}
	if e.Location != "" {
		s += " to " + e.Location
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *HTTPError) Unwrap() error { return e.Err }

// Describe is the answer for people: "Exchange answered HTTP 503 Service
// Unavailable".
func (e *HTTPError) Describe() string {
	return "Exchange answered " + strings.TrimPrefix(e.Error(), "ews: ")
}

// Unauthorized reports a 401 (bad credentials or expired token).
func (e *HTTPError) Unauthorized() bool { return e.StatusCode == http.StatusUnauthorized }

// Forbidden reports a 403 (EWS disabled for the account or app).
func (e *HTTPError) Forbidden() bool { return e.StatusCode == http.StatusForbidden }

// Unavailable reports a 503 (front end queueing or overloaded).
func (e *HTTPError) Unavailable() bool { return e.StatusCode == http.StatusServiceUnavailable }

// NetworkError wraps a transport failure: DNS, connect, TLS, reset, timeout,
// or a body that ended early.
type NetworkError struct {
	Op  string
	Err error
}

// Error formats "ews: Op: network: cause".
func (e *NetworkError) Error() string { return "ews: " + e.Op + ": network: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// Describe is the failure for people: "network error in GetItem: cause".
func (e *NetworkError) Describe() string { return "network error in " + e.Op + ": " + e.Err.Error() }

// Timeout reports whether the cause was a timeout.
func (e *NetworkError) Timeout() bool {
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout() || errors.Is(e.Err, context.DeadlineExceeded)
}

// ProtocolError reports a response that is not valid EWS: malformed XML,
// wrong namespaces, missing elements, a size or depth limit exceeded.
type ProtocolError struct {
	Op  string
	Err error
}

// Error formats "ews: Op: invalid response: cause".
func (e *ProtocolError) Error() string {
	return "ews: " + e.Op + ": invalid response: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Describe is the failure for people: "invalid response to GetItem: cause".
func (e *ProtocolError) Describe() string {
	return "invalid response to " + e.Op + ": " + e.Err.Error()
}

// CodeOf returns the EWS response code carried by err (a *ResponseError or
// *SOAPFault anywhere in its chain).
func CodeOf(err error) (ResponseCode, bool) {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.Code, true
	}
	var f *SOAPFault
	if errors.As(err, &f) && f.Code != "" {
		return f.Code, true
	}
	return "", false
}

// IsCode reports whether err carries one of codes. An
// ErrorInternalServerError whose MessageXml names an InnerErrorResponseCode
// matches that inner code too. Every error of an errors.Join is examined.
func IsCode(err error, codes ...ResponseCode) bool {
	match := func(c ResponseCode) bool {
		for _, want := range codes {
			if c == want {
				return true
			}
		}
		return false
	}
	found := false
	walk(err, func(e error) bool {
		switch v := e.(type) {
		case *ResponseError:
			found = match(v.Code) || match(v.InnerCode())
		case *SOAPFault:
			found = match(v.Code) || match(ResponseCode(v.MessageXml[ValueInnerErrorResponseCode]))
		}
		return found
	})
	return found
}

// walk visits err and everything it wraps until visit returns true.
func walk(err error, visit func(error) bool) bool {
	if err == nil {
		return false
	}
	if visit(err) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), visit)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if walk(e, visit) {
				return true
			}
		}
	}
	return false
}

// RetryAfter answers "is this error retryable, and after how long?". The
// duration is the server's hint (BackOffMilliseconds, Retry-After) or 0 when
// it gave none, in which case the caller applies its own back-off.
// Cancellation, authentication failures, protocol errors and permanent EWS
// codes are not retryable.
func RetryAfter(err error) (time.Duration, bool) {
	if err == nil || errors.Is(err, context.Canceled) {
		return 0, false
	}
	var re *ResponseError
	if errors.As(err, &re) {
		if re.Code.Transient() || re.InnerCode().Transient() {
			return re.BackOff, true
		}
		return 0, false
	}
	var f *SOAPFault
	if errors.As(err, &f) {
		inner := ResponseCode(f.MessageXml[ValueInnerErrorResponseCode])
		if f.Code.Transient() || inner.Transient() {
			return f.BackOff, true
		}
		// A fault without an EWS code that blames the server ("Server was
		// unable to process request", an empty s:Fault) is as transient as
		// an HTTP 500 with an HTML page; one that blames the client is not.
		if f.Code == "" && inner == "" && !strings.EqualFold(f.FaultCode, "Client") {
			return f.BackOff, true
		}
		return 0, false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout,
			http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusRequestTimeout:
			return he.RetryAfter, true
		}
		return 0, false
	}
	var ne *NetworkError
	if errors.As(err, &ne) {
		return 0, true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return 0, true
	}
	return 0, false
}

// Retryable reports whether RetryAfter considers err retryable.
func Retryable(err error) bool {
	_, ok := RetryAfter(err)
	return ok
}

// BackOffOf parses a BackOffMilliseconds value from a MessageXml map; 0 when
// absent or malformed.
func BackOffOf(values map[string]string) time.Duration {
	v, ok := values[ValueBackOffMilliseconds]
	if !ok {
		return 0
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// SortedValueNames returns the MessageXml names in order, for stable output.
func SortedValueNames(values map[string]string) []string {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
