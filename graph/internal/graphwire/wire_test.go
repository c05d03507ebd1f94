package graphwire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/calsync/calsync/graph"
)

// Shapes from graph-facts.md (§2c delta removal, §7 error, §1 token).
func TestDecodeDocumentedShapes(t *testing.T) {
	var p EventPage
	body := `{"@odata.context":"x","value":[
	 {"@odata.type":"#microsoft.graph.event","id":"AAA=","type":"occurrence","seriesMasterId":"M",
	  "start":{"dateTime":"2016-12-09T20:30:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2016-12-09T21:00:00.0000000","timeZone":"UTC"},
	  "showAs":"Busy","responseStatus":{"response":"Accepted","time":"0001-01-01T00:00:00Z"},"isCancelled":true},
	 {"@odata.type":"#microsoft.graph.event","id":"BBB=","@removed":{"reason":"deleted"}}],
	 "@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/u/calendarView/delta?$deltatoken=x"}`
	if err := Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	page := ToPage(p)
	if len(page.Events) != 1 || len(page.Removed) != 1 || page.Removed[0] != (graph.Removed{ID: "BBB=", Reason: "deleted"}) {
		t.Fatalf("page = %+v", page)
	}
	e := page.Events[0]
	if e.ShowAs != graph.ShowBusy || e.Response != graph.ResponseAccepted || !e.IsCancelled || e.Type != graph.TypeOccurrence || e.SeriesMasterID != "M" {
		t.Errorf("event = %+v", e)
	}
	if page.DeltaLink == "" || page.NextLink != "" {
		t.Errorf("links = %q %q", page.NextLink, page.DeltaLink)
	}

	var eb ErrorBody
	if err := Unmarshal([]byte(`{"error":{"code":"SyncStateNotFound","message":"The sync state generation is not found; generation=1","innererror":{"request-id":"r1","date":"2019-05-24T10:16:21"}}}`), &eb); err != nil {
		t.Fatal(err)
	}
	if eb.Error.Code != "SyncStateNotFound" || eb.Error.InnerError == nil || eb.Error.InnerError.RequestID != "r1" {
		t.Errorf("error body = %+v", eb)
	}

	for _, tok := range []string{`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"t"}`,
		`{"token_type":"Bearer","expires_in":"3599","access_token":"t"}`} {
		var tr TokenResponse
		if err := Unmarshal([]byte(tok), &tr); err != nil || tr.ExpiresIn != 3599 || tr.AccessToken != "t" {
			t.Errorf("%s: %+v, %v", tok, tr, err)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	in := graph.Event{ID: "a", Type: graph.TypeSingleInstance, Subject: "s", ShowAs: graph.ShowOOF,
		Sensitivity: graph.SensitivityPrivate, Response: graph.ResponseOrganizer, IsAllDay: true,
		Start:     graph.DateTimeTimeZone{DateTime: "2026-01-01T00:00:00.0000000", TimeZone: "UTC"},
		End:       graph.DateTimeTimeZone{DateTime: "2026-01-02T00:00:00.0000000", TimeZone: "UTC"},
		Organizer: "a@x", Location: "room"}
	b, err := json.Marshal(FromEvent(in))
	if err != nil {
		t.Fatal(err)
	}
	var w Event
	if err := Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	out := ToEvent(w)
	if out.ID != in.ID || out.ShowAs != in.ShowAs || out.Start != in.Start || !out.IsAllDay || out.Organizer != "a@x" || out.Location != "room" || out.Sensitivity != in.Sensitivity {
		t.Errorf("round trip: %+v", out)
	}
	if !strings.Contains(string(b), `"isCancelled":false`) {
		t.Errorf("flags not written: %s", b)
	}
}

func TestDecodeErrors(t *testing.T) {
	var p EventPage
	if err := Decode(strings.NewReader(`{"value":[`+strings.Repeat(" ", 100)+`]}`), 50, &p); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over limit: %v", err)
	}
	if err := Decode(strings.NewReader(``), 50, &p); err == nil || !strings.Contains(err.Error(), "empty body") {
		t.Errorf("empty: %v", err)
	}
	if err := Decode(strings.NewReader(`{"value":[{"id":5}]}`), 500, &p); err == nil || !strings.Contains(err.Error(), "id") {
		t.Errorf("type error: %v", err)
	}
	if err := Decode(strings.NewReader(`{"value":[}`), 500, &p); err == nil || !strings.Contains(err.Error(), "at byte") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestMailboxSettingsMixedCase(t *testing.T) {
	var w MailboxSettings
	err := Unmarshal([]byte(`{"timeZone":"Pacific Standard Time","automaticRepliesSetting":{"status":"Scheduled","externalAudience":"All",
	  "scheduledStartDateTime":{"dateTime":"2016-03-20T18:00:00.0000000","timeZone":"UTC"},
	  "scheduledEndDateTime":{"dateTime":"2016-03-28T18:00:00.0000000","timeZone":"UTC"}},
	  "workingHours":{"daysOfWeek":["monday"],"startTime":"08:00:00.0000000","endTime":"17:00:00.0000000","timeZone":{"name":"Pacific Standard Time"}}}`), &w)
	if err != nil {
		t.Fatal(err)
	}
	m := ToMailboxSettings(w)
	if m.AutomaticReplies.Status != graph.AutoRepliesScheduled || m.AutomaticReplies.ExternalAudience != graph.AudienceAll ||
		m.WorkingHours == nil || m.WorkingHours.TimeZone != "Pacific Standard Time" || m.AutomaticReplies.ScheduledEnd.DateTime == "" {
		t.Errorf("settings = %+v", m)
	}
	back := ToMailboxSettings(FromMailboxSettings(m))
	if back.AutomaticReplies != m.AutomaticReplies || back.TimeZone != m.TimeZone {
		t.Errorf("round trip = %+v", back)
	}
}

func TestNotificationsWithLifecycle(t *testing.T) {
	var c ChangeNotificationCollection
	err := Unmarshal([]byte(`{"value":[
	 {"subscriptionId":"s1","subscriptionExpirationDateTime":"2026-01-01T10:00:00.0000000Z","changeType":"updated","clientState":"cs","resource":"Users/u/Events/e","tenantId":"t","resourceData":{"@odata.type":"#Microsoft.Graph.Event","id":"e"}},
	 {"subscriptionId":"s1","subscriptionExpirationDateTime":"2026-01-01T10:00:00Z","tenantId":"t","clientState":"cs","lifecycleEvent":"ReauthorizationRequired"}]}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	ns := ToNotifications(c)
	if len(ns) != 2 || ns[0].ResourceID != "e" || ns[0].ChangeType != graph.ChangeUpdated || ns[1].Lifecycle != graph.LifecycleReauthorizationRequired {
		t.Errorf("notifications = %+v", ns)
	}
}
