package graph

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestParseEnumsIgnoreCaseAndKeepUnknown(t *testing.T) {
	if got := ParseResponse("Accepted"); got != ResponseAccepted {
		t.Errorf("ParseResponse(Accepted) = %q", got)
	}
	if got := ParseShowAs(" Busy "); got != ShowBusy {
		t.Errorf("ParseShowAs(Busy) = %q", got)
	}
	if got := ParseAutoRepliesStatus("Scheduled"); got != AutoRepliesScheduled {
		t.Errorf("ParseAutoRepliesStatus(Scheduled) = %q", got)
	}
	if got := ParseExternalAudience("All"); got != AudienceAll {
		t.Errorf("ParseExternalAudience(All) = %q", got)
	}
	if got := ParseShowAs("elsewhere2"); got != "elsewhere2" {
		t.Errorf("unknown showAs became %q, want it kept", got)
	}
}

func TestDateTimeTimeZone(t *testing.T) {
	for _, tc := range []struct {
		in   DateTimeTimeZone
		want string
	}{
		{DateTimeTimeZone{"2016-12-09T20:30:00.0000000", "UTC"}, "2016-12-09T20:30:00Z"},
		{DateTimeTimeZone{"2016-12-09T20:30:00", ""}, "2016-12-09T20:30:00Z"},
		{DateTimeTimeZone{"2016-12-09T12:30:00.0000000", "Pacific Standard Time"}, "2016-12-09T20:30:00Z"},
		{DateTimeTimeZone{"2016-07-09T12:30:00.123", "Europe/Berlin"}, "2016-07-09T10:30:00.123Z"},
		{DateTimeTimeZone{"2016-12-09T20:30:00+01:00", "UTC"}, "2016-12-09T19:30:00Z"},
	} {
		got, err := tc.in.Time()
		if err != nil {
			t.Errorf("%v: %v", tc.in, err)
			continue
		}
		if s := got.UTC().Format(time.RFC3339Nano); s != tc.want {
			t.Errorf("%v = %s, want %s", tc.in, s, tc.want)
		}
	}
	for _, bad := range []DateTimeTimeZone{{"", "UTC"}, {"yesterday", "UTC"}, {"2016-12-09T20:30:00", "Mars/Olympus"}} {
		if _, err := bad.Time(); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	d, err := DateTimeOf(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), "W. Europe Standard Time")
	if err != nil || d.DateTime != "2026-03-01T09:00:00.0000000" {
		t.Errorf("DateTimeOf = %v, %v", d, err)
	}
}

func TestAutomaticRepliesActiveAt(t *testing.T) {
	a := AutomaticReplies{Status: AutoRepliesScheduled,
		ScheduledStart: UTC(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		ScheduledEnd:   UTC(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))}
	if on, err := a.ActiveAt(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)); !on || err != nil {
		t.Errorf("inside the window: %v, %v", on, err)
	}
	if on, _ := a.ActiveAt(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)); on {
		t.Error("at the end: on, want off (half-open)")
	}
	a.ScheduledEnd = DateTimeTimeZone{}
	if _, err := a.ActiveAt(time.Now()); err == nil {
		t.Error("scheduled without end: no error")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"2.128":                         2128 * time.Millisecond,
		"10":                            10 * time.Second,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
	} {
		if got, ok := ParseRetryAfter(in, now); !ok || got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "-1", "soon", "NaN", "1e9"} {
		if d, ok := ParseRetryAfter(bad, now); ok {
			t.Errorf("ParseRetryAfter(%q) = %v, want not ok", bad, d)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{nil, ClassNone},
		{fmt.Errorf("wrapped: %w", context.Canceled), ClassCancelled},
		{&Error{StatusCode: 404, Code: "MailboxNotEnabledForRESTAPI"}, ClassNotOnGraph},
		{&Error{StatusCode: 410, Code: "SyncStateNotFound"}, ClassResync},
		{&Error{StatusCode: 400, Code: "syncStateNotFound"}, ClassResync},
		{&Error{StatusCode: 410}, ClassResync},
		{&Error{StatusCode: 429, Code: "ApplicationThrottled", RetryAfter: time.Second}, ClassThrottled},
		{&Error{StatusCode: 503, RetryAfter: time.Second}, ClassThrottled},
		{&Error{StatusCode: 503}, ClassTransient},
		{&Error{StatusCode: 502}, ClassTransient},
		{&Error{StatusCode: 401, Code: "InvalidAuthenticationToken"}, ClassCredentials},
		{&Error{StatusCode: 403, Code: "ErrorAccessDenied"}, ClassPermission},
		{&Error{StatusCode: 403}, ClassPermission},
		{&Error{StatusCode: 404, Code: "ErrorInvalidUser"}, ClassNotFound},
		{&Error{StatusCode: 400, Code: "invalidRequest"}, ClassConfiguration},
		{&Error{StatusCode: 409}, ClassPermanent},
		{&TokenError{StatusCode: 401, Code: "invalid_client"}, ClassCredentials},
		{&TokenError{StatusCode: 400, Code: "invalid_scope"}, ClassConfiguration},
		{&TokenError{StatusCode: 503}, ClassTransient},
		{&TokenError{Err: fmt.Errorf("dial: refused")}, ClassTransient},
		{&NetworkError{Op: "calendarView", Err: fmt.Errorf("reset")}, ClassTransient},
		{&ProtocolError{Op: "calendarView", Err: fmt.Errorf("bad")}, ClassProtocol},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	if d, ok := RetryAfter(&Error{StatusCode: http.StatusTooManyRequests, RetryAfter: 2 * time.Second}); !ok || d != 2*time.Second {
		t.Errorf("RetryAfter(429) = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(&Error{StatusCode: 403}); ok {
		t.Error("403 retryable")
	}
}

func TestTokenErrorNeverEchoesMoreThanTheFirstLine(t *testing.T) {
	e := &TokenError{StatusCode: 401, Code: "invalid_client", Description: "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}
	if got := e.Error(); got != "graph: token: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided." {
		t.Errorf("Error() = %q", got)
	}
}
