package ewsexchange

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

func TestOccurrence(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	base := func() *ews.CalendarItem {
		return &ews.CalendarItem{ItemId: ews.ItemId{Id: "AAMk1", ChangeKey: "CK1"}, UID: "uid-1", Subject: "Review", Location: "Room 1",
			Start: t0, End: t0.Add(time.Hour), LegacyFreeBusyStatus: ews.FreeBusyBusy, CalendarItemType: ews.ItemTypeSingle,
			Sensitivity: ews.SensitivityNormal, MyResponseType: ews.ResponseOrganizer, Organizer: &ews.Mailbox{EmailAddress: "boss@example.org"}}
	}
	tests := []struct {
		name  string
		edit  func(*ews.CalendarItem)
		check func(t *testing.T, o calendar.Occurrence)
	}{
		{"single in UTC", nil, func(t *testing.T, o calendar.Occurrence) {
			if o.ItemID != "AAMk1" || o.ChangeKey != "CK1" || o.Kind != calendar.KindSingle || !o.Start.Equal(t0) || o.Start.Location() != time.UTC ||
				o.FreeBusy != calendar.Busy || o.Organizer != "boss@example.org" || o.Response != calendar.ResponseOrganizer || o.Cancelled {
				t.Errorf("got %+v", o)
			}
		}},
		{"non-UTC instants become UTC", func(c *ews.CalendarItem) {
			loc := time.FixedZone("x", 2*3600)
			c.Start, c.End = t0.In(loc), t0.Add(time.Hour).In(loc)
		}, func(t *testing.T, o calendar.Occurrence) {
			if o.Start.Location() != time.UTC || !o.Start.Equal(t0) {
				t.Errorf("Start = %v, want %v in UTC", o.Start, t0)
			}
		}},
		{"all-day via StartTimeZone", func(c *ews.CalendarItem) {
			c.IsAllDayEvent = true
			c.StartTimeZone = "W. Europe Standard Time"
			c.Start = time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC) // local midnight in Berlin
			c.End = time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)
		}, func(t *testing.T, o calendar.Occurrence) {
			if !o.AllDay || o.TimeZone != "Europe/Berlin" || !o.Start.Equal(time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC)) || !o.End.Equal(time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)) {
				t.Errorf("got all-day %v %s [%s, %s)", o.AllDay, o.TimeZone, o.Start, o.End)
			}
		}},
		{"all-day snapped to local days", func(c *ews.CalendarItem) {
			c.IsAllDayEvent = true
			c.StartTimeZone = "Eastern Standard Time"
			c.Start = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC) // UTC midnight = 19:00 the day before in New York
			c.End = time.Date(2026, 1, 11, 0, 0, 0, 0, time.UTC)
		}, func(t *testing.T, o calendar.Occurrence) {
			if !o.Start.Equal(time.Date(2026, 1, 9, 5, 0, 0, 0, time.UTC)) || !o.End.Equal(time.Date(2026, 1, 11, 5, 0, 0, 0, time.UTC)) {
				t.Errorf("snapped = [%s, %s), want New York midnights", o.Start, o.End)
			}
		}},
		{"cancelled by IsCancelled", func(c *ews.CalendarItem) { c.IsCancelled = true }, func(t *testing.T, o calendar.Occurrence) {
			if !o.Cancelled {
				t.Error("Cancelled = false")
			}
		}},
		{"cancelled by AppointmentState&4", func(c *ews.CalendarItem) {
			c.AppointmentState = ews.AppointmentMeeting | ews.AppointmentReceived | ews.AppointmentCancelled
		},
			func(t *testing.T, o calendar.Occurrence) {
				if !o.Cancelled || !o.IsMeeting {
					t.Errorf("Cancelled = %v, IsMeeting = %v; want both", o.Cancelled, o.IsMeeting)
				}
			}},
		{"working elsewhere", func(c *ews.CalendarItem) { c.LegacyFreeBusyStatus = ews.FreeBusyWorkingElsewhere }, func(t *testing.T, o calendar.Occurrence) {
			if o.FreeBusy != calendar.WorkingElsewhere {
				t.Errorf("FreeBusy = %s", o.FreeBusy)
			}
		}},
		{"no data", func(c *ews.CalendarItem) { c.LegacyFreeBusyStatus = ews.FreeBusyNoData }, func(t *testing.T, o calendar.Occurrence) {
			if o.FreeBusy != calendar.NoData {
				t.Errorf("FreeBusy = %s", o.FreeBusy)
			}
		}},
		{"private", func(c *ews.CalendarItem) { c.Sensitivity = ews.SensitivityPrivate }, func(t *testing.T, o calendar.Occurrence) {
			if o.Sensitivity != calendar.Private || !o.Sensitivity.IsMasked() {
				t.Errorf("Sensitivity = %s", o.Sensitivity)
			}
		}},
		{"exception and occurrence kinds", func(c *ews.CalendarItem) { c.CalendarItemType = ews.ItemTypeException }, func(t *testing.T, o calendar.Occurrence) {
			if o.Kind != calendar.KindException {
				t.Errorf("Kind = %s", o.Kind)
			}
		}},
		{"missing enums take defaults", func(c *ews.CalendarItem) {
			c.LegacyFreeBusyStatus, c.Sensitivity, c.MyResponseType, c.CalendarItemType = "", "", "", ""
		}, func(t *testing.T, o calendar.Occurrence) {
			if o.FreeBusy != calendar.Busy || o.Sensitivity != calendar.Normal || o.Response != calendar.ResponseUnknown || o.Kind != calendar.KindSingle {
				t.Errorf("got %+v", o)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := base()
			if tc.edit != nil {
				tc.edit(it)
			}
			o, err := Occurrence(it)
			if err != nil {
				t.Fatalf("Occurrence() error = %v", err)
			}
			tc.check(t, o)
		})
	}
}

func TestOccurrenceRejects(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		it   *ews.CalendarItem
	}{
		{"nil", nil},
		{"no id", &ews.CalendarItem{Start: t0, End: t0}},
		{"no times", &ews.CalendarItem{ItemId: ews.ItemId{Id: "x"}}},
		{"master", &ews.CalendarItem{ItemId: ews.ItemId{Id: "x"}, Start: t0, End: t0, CalendarItemType: ews.ItemTypeRecurringMaster}},
		{"end before start", &ews.CalendarItem{ItemId: ews.ItemId{Id: "x"}, Start: t0, End: t0.Add(-time.Hour)}},
	}
	for _, tc := range tests {
		if _, err := Occurrence(tc.it); err == nil {
			t.Errorf("%s: Occurrence() error = nil, want an error", tc.name)
		}
	}
}

func TestClassifyErrors(t *testing.T) {
	tests := []struct {
		err     error
		code    string
		backOff time.Duration
	}{
		{&ews.ResponseError{Code: "ErrorServerBusy", BackOff: 3 * time.Second}, "ErrorServerBusy", 3 * time.Second},
		{&ews.SOAPFault{Code: "ErrorImpersonateUserDenied", StatusCode: 500}, "ErrorImpersonateUserDenied", 0},
		{&ews.ResponseError{Code: "ErrorInternalServerError", MessageXml: map[string]string{"InnerErrorResponseCode": "ErrorServerBusy"}}, "ErrorServerBusy", 0},
		{&ews.HTTPError{StatusCode: 401}, "HTTP401", 0},
		{&ews.HTTPError{StatusCode: 503}, "HTTP503", 0},
		{errors.New("connection reset"), "NetworkError", 0},
		{&ews.NetworkError{Op: "GetItem", Err: x509.UnknownAuthorityError{}}, "TLSCertificate", 0},
	}
	for _, tc := range tests {
		err := classify("op", tc.err)
		var xe *engine.ExchangeError
		if !errors.As(err, &xe) || xe.Code != tc.code || xe.BackOff != tc.backOff {
			t.Errorf("classify(%v) = %+v, want code %s back-off %s", tc.err, xe, tc.code, tc.backOff)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("classify(%v) does not wrap the original error", tc.err)
		}
	}
}

func TestOOF(t *testing.T) {
	s := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got := OOF(ews.OofSettings{State: ews.OofScheduled, Start: s, End: s.Add(time.Hour), InternalReply: "away"})
	if got.State != calendar.OOFScheduled || !got.ActiveAt(s) || got.InternalReply != "away" {
		t.Errorf("OOF() = %+v", got)
	}
	if got := OOF(ews.OofSettings{State: "weird"}); got.State != calendar.OOFDisabled {
		t.Errorf("unknown state → %s, want Disabled", got.State)
	}
}

// TestUntrustedCertificateIsAConfigurationError: a real TLS handshake with a
// certificate calsync does not trust is reported as TLSCertificate (slow
// retry with a hint), not as a passing network error.
func TestUntrustedCertificateIsAConfigurationError(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	hc, err := ewsclient.NewHTTPClient(&ewsclient.TransportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewClient(c, "").OOF(context.Background(), engine.Target{SMTP: "alice@example.com"})
	if code := engine.ErrorCode(err); code != "TLSCertificate" {
		t.Errorf("untrusted certificate: code %q (%v), want TLSCertificate", code, err)
	}
}
