package graphexchange

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/graph"
)

// Codes this package reports in engine.ExchangeError besides the HTTP and
// network ones; engine/recovery_graph.go says what the engine does about
// them.
const (
	CodeNotOnGraph      = "MailboxNotEnabledForRESTAPI"
	CodeResync          = "SyncStateNotFound"
	CodeThrottled       = "ApplicationThrottled"
	CodeAccessDenied    = "GraphAccessDenied"
	CodeUserNotFound    = "GraphUserNotFound"
	CodeConfiguration   = "GraphConfiguration"
	CodeBadRequest      = "GraphBadRequest"
	CodeSubscription    = "GraphSubscriptionRefused"
	CodeInvalidResponse = "GraphInvalidResponse"
)

// classify wraps a graphclient error into *engine.ExchangeError: the
// client classifies (graph.Classify), the engine decides by code.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	xe := &engine.ExchangeError{Code: "NetworkError", HTTPStatus: graph.StatusOf(err), Err: fmt.Errorf("graphexchange: %s: %w", op, err)}
	if d, ok := graph.RetryAfter(err); ok {
		xe.BackOff = d
	}
	switch graph.Classify(err) {
	case graph.ClassCredentials:
		xe.Code = "HTTP401" // the engine's credential gate: one probe, not every worker
	case graph.ClassConfiguration:
		// Entra refusing the token request is the tenant's or the app's
		// configuration; Graph refusing a request (400) is not, and for a
		// subscription it is mostly the notification URL.
		var te *graph.TokenError
		switch {
		case errors.As(err, &te):
			xe.Code = CodeConfiguration
		case op == "createSubscription":
			xe.Code = CodeSubscription
		default:
			xe.Code = CodeBadRequest
		}
	case graph.ClassPermission:
		xe.Code = CodeAccessDenied
	case graph.ClassThrottled:
		xe.Code = CodeThrottled
		if xe.HTTPStatus == http.StatusServiceUnavailable {
			xe.Code = "HTTP503" // Graph itself is overloaded, not one mailbox
		}
	case graph.ClassNotOnGraph:
		xe.Code = CodeNotOnGraph
	case graph.ClassResync:
		xe.Code = CodeResync
	case graph.ClassNotFound:
		xe.Code = CodeUserNotFound
	case graph.ClassProtocol:
		xe.Code = CodeInvalidResponse
	case graph.ClassTransient, graph.ClassPermanent:
		var ne *graph.NetworkError
		switch {
		case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
			xe.Code = "Timeout"
		case xe.HTTPStatus != 0:
			xe.Code = fmt.Sprintf("HTTP%d", xe.HTTPStatus)
		}
	}
	return xe
}
