package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// A mailbox's last error reads as one sentence: no package prefixes, the
// code not repeated (the status carries it once, in its own field).
func TestDescribeGivesOneSentence(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"autodiscover", &engine.ExchangeError{Code: "ErrorNonExistentMailbox", Err: fmt.Errorf("ewsexchange: GetUserSettings: %w",
			&ewsclient.AutodiscoverError{Code: "ErrorNonExistentMailbox", Message: "The SMTP address has no mailbox associated with it."})},
			"Autodiscover: The SMTP address has no mailbox associated with it."},
		{"response", &engine.ExchangeError{Code: "ErrorServerBusy", Err: fmt.Errorf("ewsexchange: SyncFolderItems: %w",
			&ews.ResponseError{Op: "SyncFolderItems", Index: -1, Code: "ErrorServerBusy", MessageText: "The server cannot service this request right now.", BackOff: 50_000_000})},
			"The server cannot service this request right now. (SyncFolderItems); Exchange asks to wait 50ms"},
		{"http", &engine.ExchangeError{Code: "HTTP401", Err: fmt.Errorf("ewsexchange: GetItem: %w", &ews.HTTPError{StatusCode: 401})},
			"Exchange answered HTTP 401 Unauthorized"},
		{"code only", &engine.ExchangeError{Code: "ErrorSubscriptionNotFound"}, "Exchange answered ErrorSubscriptionNotFound"},
		{"cause without a description", &engine.ExchangeError{Code: "InvalidUser", Err: errors.New("no answer for a@example.com")},
			"no answer for a@example.com"},
		{"plain", errors.New("something else"), "something else"},
	}
	for _, tc := range tests {
		got := engine.Describe(tc.err)
		if got != tc.want {
			t.Errorf("%s: Describe = %q, want %q", tc.name, got, tc.want)
		}
		for _, prefix := range []string{"engine:", "ewsexchange:", "ewsclient:", "ews:"} {
			if strings.Contains(got, prefix) {
				t.Errorf("%s: %q keeps the prefix %q", tc.name, got, prefix)
			}
		}
	}
}
