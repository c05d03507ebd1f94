package graphexchange

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/graph"
)

func TestOccurrence(t *testing.T) {
	e := graph.Event{ID: "a", Type: graph.TypeOccurrence, SeriesMasterID: "m", ShowAs: graph.ShowWorkingElsewhere,
		Sensitivity: graph.SensitivityPrivate, Response: graph.ResponseTentativelyAccepted, IsCancelled: true, HasAttendees: true,
		IsAllDay: true, OriginalStartTimeZone: "W. Europe Standard Time",
		Start: graph.DateTimeTimeZone{DateTime: "2026-12-06T23:00:00.0000000", TimeZone: "UTC"},
		End:   graph.DateTimeTimeZone{DateTime: "2026-12-07T23:00:00.0000000", TimeZone: "UTC"}}
	o, err := Occurrence(e)
	if err != nil {
		t.Fatal(err)
	}
	want := calendar.Occurrence{ItemID: "a", MasterID: "m", Kind: calendar.KindOccurrence, FreeBusy: calendar.WorkingElsewhere,
		Sensitivity: calendar.Private, Response: calendar.ResponseTentative, Cancelled: true, IsMeeting: true, AllDay: true,
		TimeZone: "Europe/Berlin", Start: time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)}
	if fmt.Sprint(o) != fmt.Sprint(want) {
		t.Errorf("Occurrence =\n%+v, want\n%+v", o, want)
	}
	if o, _ := Occurrence(graph.Event{ID: "b", Start: e.Start, End: e.End}); o.FreeBusy != calendar.Busy || o.Kind != calendar.KindSingle || o.Response != calendar.ResponseUnknown {
		t.Errorf("defaults: %+v", o)
	}
	for _, bad := range []graph.Event{{Start: e.Start, End: e.End}, {ID: "m", Type: graph.TypeSeriesMaster, Start: e.Start, End: e.End},
		{ID: "x", Start: graph.DateTimeTimeZone{DateTime: "soon"}, End: e.End}, {ID: "y", Start: e.End, End: e.Start}} {
		if _, err := Occurrence(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestOOFSettings(t *testing.T) {
	s, err := OOFSettings(graph.AutomaticReplies{Status: graph.AutoRepliesScheduled, InternalReplyMessage: "away",
		ScheduledStart: graph.UTC(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), ScheduledEnd: graph.UTC(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))})
	if err != nil || s.State != calendar.OOFScheduled || !s.ActiveAt(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)) || s.InternalReply != "away" {
		t.Errorf("scheduled = %+v, %v", s, err)
	}
	if s, _ := OOFSettings(graph.AutomaticReplies{Status: graph.AutoRepliesAlwaysEnabled}); s.State != calendar.OOFEnabled {
		t.Errorf("always = %+v", s)
	}
	if _, err := OOFSettings(graph.AutomaticReplies{Status: "sometimes"}); err == nil {
		t.Error("unknown status accepted")
	}
	if _, err := OOFSettings(graph.AutomaticReplies{Status: graph.AutoRepliesScheduled}); err == nil {
		t.Error("scheduled without window accepted")
	}
}

func TestClassifyCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{&graph.Error{StatusCode: 404, Code: "MailboxNotEnabledForRESTAPI"}, CodeNotOnGraph},
		{&graph.Error{StatusCode: 410, Code: "SyncStateNotFound"}, CodeResync},
		{&graph.Error{StatusCode: 429, Code: "ApplicationThrottled", RetryAfter: time.Second}, CodeThrottled},
		{&graph.Error{StatusCode: 503, RetryAfter: time.Second}, "HTTP503"},
		{&graph.Error{StatusCode: 401, Code: "InvalidAuthenticationToken"}, "HTTP401"},
		{&graph.TokenError{StatusCode: 401, Code: "invalid_client"}, "HTTP401"},
		{&graph.TokenError{StatusCode: 400, Code: "invalid_scope"}, CodeConfiguration},
		{&graph.Error{StatusCode: 403, Code: "ErrorAccessDenied"}, CodeAccessDenied},
		{&graph.Error{StatusCode: 404, Code: "ErrorInvalidUser"}, CodeUserNotFound},
		{&graph.Error{StatusCode: 502}, "HTTP502"},
		{&graph.ProtocolError{Op: "x", Err: errors.New("bad")}, CodeInvalidResponse},
		{&graph.NetworkError{Op: "x", Err: context.DeadlineExceeded}, "Timeout"},
		{&graph.NetworkError{Op: "x", Err: errors.New("reset")}, "NetworkError"},
	} {
		err := classify("op", tc.err)
		if got := engine.ErrorCode(err); got != tc.code {
			t.Errorf("%v: code %q, want %q", tc.err, got, tc.code)
		}
	}
	var xe *engine.ExchangeError
	if err := classify("op", &graph.Error{StatusCode: 429, RetryAfter: 2 * time.Second}); !errors.As(err, &xe) || xe.BackOff != 2*time.Second {
		t.Errorf("back-off not carried: %v", err)
	}
	if err := classify("op", context.Canceled); !errors.Is(err, context.Canceled) || errors.As(err, &xe) {
		t.Errorf("cancel: %v", err)
	}
}
