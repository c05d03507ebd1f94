package ews_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
)

func TestIsCodeAndRetryAfter(t *testing.T) {
	busy := &ews.ResponseError{Op: "GetItem", Index: 3, Class: ews.ClassError, Code: ews.ErrorServerBusy, MessageText: "busy", BackOff: 2 * time.Second}
	stopped := &ews.ResponseError{Op: "GetItem", Index: 4, Class: ews.ClassWarning, Code: ews.ErrorBatchProcessingStopped}
	notFound := &ews.ResponseError{Op: "GetItem", Index: 0, Class: ews.ClassError, Code: ews.ErrorItemNotFound}
	inner := &ews.ResponseError{Op: "FindItem", Index: -1, Class: ews.ClassError, Code: ews.ErrorInternalServerError, MessageXml: map[string]string{"InnerErrorResponseCode": "ErrorServerBusy"}}
	fault := &ews.SOAPFault{Code: ews.ErrorServerBusy, BackOff: 5 * time.Minute, StatusCode: 500}
	tests := []struct {
		name  string
		err   error
		codes []ews.ResponseCode
		is    bool
		retry bool
		wait  time.Duration
	}{
		{"nil", nil, []ews.ResponseCode{ews.ErrorServerBusy}, false, false, 0},
		{"busy", busy, []ews.ResponseCode{ews.ErrorServerBusy}, true, true, 2 * time.Second},
		{"wrapped busy", fmt.Errorf("engine: sync: %w", busy), []ews.ResponseCode{ews.ErrorItemNotFound, ews.ErrorServerBusy}, true, true, 2 * time.Second},
		{"stopped batch", stopped, []ews.ResponseCode{ews.ErrorBatchProcessingStopped}, true, true, 0},
		{"not found", notFound, []ews.ResponseCode{ews.ErrorServerBusy}, false, false, 0},
		{"joined", errors.Join(notFound, stopped), []ews.ResponseCode{ews.ErrorBatchProcessingStopped}, true, false, 0},
		{"inner code", inner, []ews.ResponseCode{ews.ErrorServerBusy}, true, true, 0},
		{"fault", fault, []ews.ResponseCode{ews.ErrorServerBusy}, true, true, 5 * time.Minute},
		{"server fault without an EWS code", &ews.SOAPFault{FaultCode: "Server", FaultString: "Server was unable to process request.", StatusCode: 500}, nil, false, true, 0},
		{"empty fault", &ews.SOAPFault{StatusCode: 500}, nil, false, true, 0},
		{"client fault without an EWS code", &ews.SOAPFault{FaultCode: "Client", FaultString: "bad request", StatusCode: 500}, nil, false, false, 0},
		{"schema fault", &ews.SOAPFault{FaultCode: "Client", Code: ews.ErrorSchemaValidation, StatusCode: 500}, nil, false, false, 0},
		{"503", &ews.HTTPError{StatusCode: 503, RetryAfter: 30 * time.Second}, nil, false, true, 30 * time.Second},
		{"401", &ews.HTTPError{StatusCode: 401}, nil, false, false, 0},
		{"network", &ews.NetworkError{Op: "GetItem", Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, nil, false, true, 0},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), nil, false, false, 0},
		{"deadline", context.DeadlineExceeded, nil, false, true, 0},
		{"protocol", &ews.ProtocolError{Op: "GetItem", Err: errors.New("bad xml")}, nil, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ews.IsCode(tt.err, tt.codes...); got != tt.is {
				t.Errorf("IsCode() = %v, want %v", got, tt.is)
			}
			wait, retry := ews.RetryAfter(tt.err)
			if retry != tt.retry || wait != tt.wait {
				t.Errorf("RetryAfter() = %v, %v; want %v, %v", wait, retry, tt.wait, tt.retry)
			}
		})
	}
	if code, ok := ews.CodeOf(fmt.Errorf("w: %w", notFound)); !ok || code != ews.ErrorItemNotFound {
		t.Errorf("CodeOf() = %v, %v", code, ok)
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&ews.ResponseError{Op: "GetItem", Index: 2, Code: ews.ErrorItemNotFound, MessageText: "gone"}, "ews: GetItem[2]: ErrorItemNotFound: gone"},
		{&ews.ResponseError{Op: "Subscribe", Index: -1, Code: ews.ErrorServerBusy, BackOff: time.Second}, "ews: Subscribe: ErrorServerBusy (back off 1s)"},
		{&ews.SOAPFault{Code: ews.ErrorSchemaValidation, FaultString: "invalid", MessageXml: map[string]string{"LineNumber": "1", "LinePosition": "2", "Violation": "v"}}, "ews: SOAP fault ErrorSchemaValidation: invalid (line 1, position 2: v)"},
		{&ews.HTTPError{StatusCode: 503}, "ews: HTTP 503 Service Unavailable"},
		{&ews.NetworkError{Op: "GetEvents", Err: errors.New("reset")}, "ews: GetEvents: network: reset"},
		{&ews.ProtocolError{Op: "FindItem", Err: errors.New("x")}, "ews: FindItem: invalid response: x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestRecurrenceValidate(t *testing.T) {
	start := ews.Date{Year: 2026, Month: 1, Day: 5}
	noEnd := ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: start}
	tests := []struct {
		name string
		r    ews.Recurrence
		ok   bool
	}{
		{"daily", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 2}, noEnd}, true},
		{"daily zero interval", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternDaily}, noEnd}, false},
		{"weekly", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Monday, ews.Friday}}, noEnd}, true},
		{"weekly no days", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1}, noEnd}, false},
		{"weekly bad day", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{"Funday"}}, noEnd}, false},
		{"absolute monthly", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternAbsoluteMonthly, Interval: 1, DayOfMonth: 31}, noEnd}, true},
		{"absolute monthly day 32", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternAbsoluteMonthly, Interval: 1, DayOfMonth: 32}, noEnd}, false},
		{"relative monthly", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternRelativeMonthly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Weekday}, DayOfWeekIndex: ews.IndexLast}, noEnd}, true},
		{"relative monthly two days", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternRelativeMonthly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Monday, ews.Tuesday}, DayOfWeekIndex: ews.IndexFirst}, noEnd}, false},
		{"absolute yearly", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternAbsoluteYearly, DayOfMonth: 29, Month: time.February}, noEnd}, true},
		{"absolute yearly no month", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternAbsoluteYearly, DayOfMonth: 1}, noEnd}, false},
		{"relative yearly", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternRelativeYearly, DaysOfWeek: []ews.DayOfWeek{ews.Thursday}, DayOfWeekIndex: ews.IndexFourth, Month: time.November}, noEnd}, true},
		{"regeneration", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternWeeklyRegeneration, Interval: 3}, noEnd}, true},
		{"unknown pattern", ews.Recurrence{ews.RecurrencePattern{Kind: "Hourly", Interval: 1}, noEnd}, false},
		{"end before start", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1}, ews.RecurrenceRange{Kind: ews.RangeEndDate, StartDate: start, EndDate: ews.Date{Year: 2025, Month: 12, Day: 31}}}, false},
		{"numbered zero", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1}, ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: start}}, false},
		{"no start", ews.Recurrence{ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 1}, ews.RecurrenceRange{Kind: ews.RangeNoEnd}}, false},
	}
	for _, tt := range tests {
		if err := tt.r.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	sids := []struct {
		sid    ews.ConnectingSID
		ok     bool
		anchor string
	}{
		{ews.ImpersonateSMTP("alice@contoso.com"), true, "alice@contoso.com"},
		{ews.ConnectingSID{Kind: ews.SIDSmtpAddress, Value: "bob@contoso.com"}, true, "bob@contoso.com"},
		{ews.ConnectingSID{Kind: ews.SIDPrincipalName, Value: "bob@corp.local", Anchor: "bob@contoso.com"}, true, "bob@contoso.com"},
		{ews.ConnectingSID{Kind: ews.SIDPrincipalName, Value: "bob@corp.local"}, false, ""},
		{ews.ConnectingSID{Kind: ews.SIDSecurityID, Value: "S-1-5-21-1-2-3-1001", Anchor: "c@contoso.com"}, true, "c@contoso.com"},
		{ews.ConnectingSID{Kind: ews.SIDSecurityID, Value: "not-a-sid", Anchor: "c@contoso.com"}, false, "c@contoso.com"},
		{ews.ImpersonateSMTP("no-at-sign"), false, "no-at-sign"},
		{ews.ConnectingSID{Kind: "Email", Value: "a@b"}, false, ""},
		{ews.ConnectingSID{Kind: ews.SIDPrimarySmtpAddress, Value: " "}, false, " "},
	}
	for _, tt := range sids {
		if err := tt.sid.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v", tt.sid, err)
		}
		if got := tt.sid.AnchorMailbox(); got != tt.anchor {
			t.Errorf("AnchorMailbox(%+v) = %q, want %q", tt.sid, got, tt.anchor)
		}
	}
	refs := []struct {
		ref ews.ItemRef
		ok  bool
	}{
		{ews.ItemByID(ews.ItemId{Id: "a"}), true},
		{ews.ItemRef{}, false},
		{ews.ItemRef{Item: &ews.ItemId{Id: "a"}, Master: &ews.RecurringMasterItemId{OccurrenceId: "b"}}, false},
		{ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: "m", InstanceIndex: 0}}, false},
		{ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: "m", InstanceIndex: 1}}, true},
		{ews.ItemRef{Master: &ews.RecurringMasterItemId{}}, false},
	}
	for _, tt := range refs {
		if err := tt.ref.Validate(); (err == nil) != tt.ok {
			t.Errorf("ItemRef.Validate(%+v) = %v", tt.ref, err)
		}
	}
	if err := (ews.FolderRef{}).Validate(); err == nil {
		t.Error("empty FolderRef validated")
	}
	if err := ews.CalendarFolder().Validate(); err != nil {
		t.Error(err)
	}
}

func TestVersionsAndEnums(t *testing.T) {
	for v, ok := range map[ews.ExchangeVersion]bool{ews.Exchange2013SP1: true, ews.Exchange2016: true, "Exchange2019": false, "V2017_07_11": false, ews.Exchange2010SP2: false} {
		if err := v.Sendable(); (err == nil) != ok {
			t.Errorf("%s.Sendable() = %v", v, err)
		}
	}
	tests := []struct {
		digit byte
		v     ews.ExchangeVersion
		want  ews.FreeBusyStatus
		ok    bool
	}{
		{'4', ews.Exchange2013SP1, ews.FreeBusyWorkingElsewhere, true},
		{'5', ews.Exchange2016, ews.FreeBusyNoData, true},
		{'4', ews.Exchange2010, ews.FreeBusyNoData, true},
		{'5', ews.Exchange2010, "", false},
		{'2', ews.Exchange2016, ews.FreeBusyBusy, true},
		{'9', ews.Exchange2016, "", false},
	}
	for _, tt := range tests {
		got, ok := ews.MergedFreeBusyStatus(tt.digit, tt.v)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MergedFreeBusyStatus(%c, %s) = %s, %v", tt.digit, tt.v, got, ok)
		}
	}
	item := ews.CalendarItem{AppointmentState: ews.AppointmentMeeting | ews.AppointmentCancelled}
	if !item.IsCancelledState() || !ews.FreeBusyWorkingElsewhere.Valid() || ews.FreeBusyStatus("Away").Valid() || ews.EventStatus.Subscribable() {
		t.Error("enum helpers wrong")
	}
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	oof := ews.OofSettings{State: ews.OofScheduled, Start: start, End: start.Add(time.Hour)}
	if !oof.ActiveAt(start) || oof.ActiveAt(start.Add(time.Hour)) || (ews.OofSettings{State: ews.OofDisabled, Start: start, End: start.Add(time.Hour)}).ActiveAt(start) {
		t.Error("OofSettings.ActiveAt wrong")
	}
	if s := (ews.ServerVersionInfo{MajorVersion: 15, MinorVersion: 2, MajorBuildNumber: 1544, MinorBuildNumber: 4, Version: "V2017_07_11"}).String(); !strings.HasPrefix(s, "15.2.1544.4") {
		t.Errorf("String() = %s", s)
	}
	if ews.BackOffOf(map[string]string{"BackOffMilliseconds": "-5"}) != 0 || ews.BackOffOf(map[string]string{"BackOffMilliseconds": " 250 "}) != 250*time.Millisecond {
		t.Error("BackOffOf wrong")
	}
}
