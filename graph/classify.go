package graph

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Class is what an error means for the caller, like the EWS classes the
// engine acts on: the client classifies, the engine decides.
type Class int

// Classes, from "nothing wrong" to "permanent".
const (
	// ClassNone: no error.
	ClassNone Class = iota
	// ClassCancelled: the caller's context ended.
	ClassCancelled
	// ClassConfiguration: tenant, scope, endpoint or request wrong
	// (invalid_scope, tenant not found, 400 invalidRequest); an operator
	// must change the configuration.
	ClassConfiguration
	// ClassCredentials: the client secret or certificate rejected, or a
	// token refused by Graph.
	ClassCredentials
	// ClassPermission: 403 ErrorAccessDenied: the app may not read this
	// mailbox. Right after onboarding this is "pending": RBAC scopes take
	// 30 min–2 h, access policies over 1 h to reach Graph.
	ClassPermission
	// ClassThrottled: 429, or 503 with Retry-After; wait RetryAfter.
	ClassThrottled
	// ClassTransient: 5xx, network, timeouts; retry with back-off.
	ClassTransient
	// ClassNotOnGraph: MailboxNotEnabledForRESTAPI: the mailbox is
	// on-premises (or inactive, soft-deleted): serve it over EWS.
	ClassNotOnGraph
	// ClassResync: the delta token is gone (410, syncStateNotFound,
	// resyncRequired): start a new round with a full read.
	ClassResync
	// ClassNotFound: the user or item does not exist (ErrorInvalidUser,
	// ErrorItemNotFound, itemNotFound).
	ClassNotFound
	// ClassProtocol: an answer that is not Graph's (bad JSON, over the
	// size limit); treated as transient, but worth a log line.
	ClassProtocol
	// ClassPermanent: any other 4xx.
	ClassPermanent
)

var classNames = [...]string{"none", "cancelled", "configuration", "credentials", "permission",
	"throttled", "transient", "not-on-graph", "resync", "not-found", "protocol", "permanent"}

// String returns the class name ("throttled").
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// Classify says what err means. Graph codes count before HTTP statuses
// (a 404 MailboxNotEnabledForRESTAPI is not a missing user); statuses
// count where the body is empty or unknown.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	if errors.Is(err, context.Canceled) {
		return ClassCancelled
	}
	var te *TokenError
	if errors.As(err, &te) {
		return classifyToken(te)
	}
	var ge *Error
	if errors.As(err, &ge) {
		return classifyGraph(ge)
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return ClassProtocol
	}
	return ClassTransient // network errors, deadlines, anything unknown
}

func classifyToken(te *TokenError) Class {
	switch te.Code {
	case "invalid_client", "unauthorized_client", "invalid_grant":
		return ClassCredentials
	case "invalid_scope", "invalid_request", "invalid_resource", "unsupported_grant_type":
		return ClassConfiguration
	}
	switch {
	case te.StatusCode == http.StatusUnauthorized:
		return ClassCredentials
	case te.StatusCode == http.StatusTooManyRequests:
		return ClassThrottled
	case te.StatusCode >= 400 && te.StatusCode < 500:
		return ClassConfiguration
	}
	return ClassTransient
}

func classifyGraph(ge *Error) Class {
	e := error(ge)
	switch {
	case IsCode(e, CodeMailboxNotEnabledForRESTAPI):
		return ClassNotOnGraph
	case IsCode(e, CodeSyncStateNotFound, CodeResyncRequired) || ge.StatusCode == http.StatusGone:
		return ClassResync
	case IsCode(e, CodeApplicationThrottled, CodeTooManyRequests, CodeActivityLimitReached, CodeErrorServerBusy) ||
		ge.StatusCode == http.StatusTooManyRequests:
		return ClassThrottled
	case IsCode(e, CodeInvalidAuthenticationToken, CodeUnauthenticated) || ge.StatusCode == http.StatusUnauthorized:
		return ClassCredentials
	case IsCode(e, CodeErrorAccessDenied, CodeAccessDenied, CodeAuthorizationRequestDenied) ||
		ge.StatusCode == http.StatusForbidden:
		return ClassPermission
	case IsCode(e, CodeErrorInvalidUser, CodeErrorItemNotFound, CodeItemNotFound, CodeResourceNotFound) ||
		ge.StatusCode == http.StatusNotFound:
		return ClassNotFound
	case ge.StatusCode == http.StatusServiceUnavailable && ge.RetryAfter > 0:
		return ClassThrottled
	case ge.StatusCode >= 500 || ge.StatusCode == http.StatusRequestTimeout ||
		IsCode(e, CodeServiceNotAvailable, CodeGeneralException, CodeErrorMailboxMoveInProgress):
		return ClassTransient
	case ge.StatusCode == http.StatusBadRequest:
		return ClassConfiguration
	}
	return ClassPermanent
}

// RetryAfter answers "is this error worth retrying, and after how long?"
// The duration is Graph's hint (0: the caller backs off on its own).
func RetryAfter(err error) (time.Duration, bool) {
	switch Classify(err) {
	case ClassThrottled, ClassTransient, ClassProtocol:
		var ge *Error
		if errors.As(err, &ge) {
			return ge.RetryAfter, true
		}
		return 0, true
	}
	return 0, false
}
