package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apiclient"
	"github.com/calsync/calsync/api/apitest"
	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

var t0 = time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)

// env is an API server over fake sources.
type env struct {
	srv      *httptest.Server
	client   *apiclient.Client
	presence *apitest.Presence
	sync     *apitest.Sync
	agenda   *apitest.Agenda
	dryRun   *apitest.DryRun
	hooks    *apitest.Webhooks
	log      *events.Log
	clock    *clock.Fake
	reg      *prometheus.Registry
	token    string
}

type envConfig struct {
	tokens     []string
	readTokens []string
	reveal     api.PrivacyPolicy
	ready      func(context.Context) error
	history    int
}

func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	e := &env{clock: clock.NewFake(t0), reg: prometheus.NewRegistry(), hooks: &apitest.Webhooks{}}
	if len(cfg.tokens) > 0 {
		e.token = cfg.tokens[0]
	}
	meeting := presence.Presence{User: "alice@example.com", Availability: presence.Busy, StatusText: "In a meeting until 10:00",
		Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour), ComputedAt: t0,
		Why:  presence.Reason{Source: "calendar", Rule: "meetings", ItemID: "AAMk1", Subject: "Standup", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)},
		Next: &presence.Transition{At: t0.Add(time.Hour), Availability: presence.Available}}
	e.presence = apitest.NewPresence(
		meeting,
		presence.Presence{User: "bob@example.com", Availability: presence.Available, Why: presence.Reason{Source: "free"}, ComputedAt: t0},
		presence.Presence{User: "carol@example.com", Availability: presence.OutOfOffice, StatusText: "Out of office", Why: presence.Reason{Source: "automatic_replies"}, ComputedAt: t0},
	)
	e.sync = apitest.NewSync(
		store.MailboxStatus{SMTP: "alice@example.com", State: "subscribed", Group: "g1", Connection: "stream-1", Occurrences: 3, LastEvent: t0},
		store.MailboxStatus{SMTP: "bob@example.com", State: "subscribed", Group: "g1", Connection: "stream-1"},
		store.MailboxStatus{SMTP: "carol@example.com", State: "backoff", Group: "g2", Connection: "pull-2", ConsecutiveFailures: 3,
			LastError: &store.SyncError{Code: "ErrorServerBusy", Message: "server busy", Hint: "wait", At: t0}},
	)
	e.agenda = apitest.NewAgenda()
	e.agenda.Add("alice@example.com",
		calendar.Occurrence{ItemID: "AAMk1", Subject: "Standup", Location: "Room 1", Organizer: "bob@example.com", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal, IsMeeting: true},
		calendar.Occurrence{ItemID: "AAMk2", Subject: "Doctor", Location: "Clinic", Categories: []string{"Health"}, Start: t0.Add(3 * time.Hour), End: t0.Add(4 * time.Hour), FreeBusy: calendar.OutOfOffice, Sensitivity: calendar.Private},
		calendar.Occurrence{ItemID: "AAMk3", Subject: "Next week", Start: t0.Add(7 * 24 * time.Hour), End: t0.Add(7*24*time.Hour + time.Hour), FreeBusy: calendar.Busy},
	)
	e.dryRun = &apitest.DryRun{Timeline: []presence.Presence{
		{User: "alice@example.com", Availability: presence.Busy, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)},
		{User: "alice@example.com", Availability: presence.Available, Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)},
		{User: "alice@example.com", Availability: presence.OutOfOffice, Since: t0.Add(3 * time.Hour), Until: t0.Add(4 * time.Hour)},
	}}
	log, err := events.NewLog(events.Options{Clock: e.clock, Registerer: e.reg, Sinks: []events.Sink{e.hooks}, History: cfg.history})
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	e.log = log
	overrides := &apitest.Overrides{P: e.presence, Events: log, Now: e.clock.Now}
	h, err := api.New(api.Options{
		Presence: e.presence, Sync: e.sync, Groups: e.sync, Agenda: e.agenda, Overrides: overrides, DryRun: e.dryRun, SyncNow: e.sync,
		Events: log, Tokens: cfg.tokens, ReadTokens: cfg.readTokens, RevealPrivate: cfg.reveal, Ready: cfg.ready,
		Registerer: e.reg, Gatherer: e.reg, Clock: e.clock,
		Dashboard: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "dashboard") }),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		log.Close()
		e.srv.Close()
	})
	e.client, err = apiclient.New(e.srv.URL, e.token, e.srv.Client())
	if err != nil {
		t.Fatalf("apiclient.New: %v", err)
	}
	return e
}

// do sends a raw request with the env's token.
func (e *env) do(t *testing.T, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func errorCode(t *testing.T, data []byte) string {
	t.Helper()
	var body api.ErrorBody
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", data, err)
	}
	if body.Error.Message == "" {
		t.Errorf("error body %s has no message", data)
	}
	return body.Error.Code
}

func TestEndpointsStatusAndErrors(t *testing.T) {
	e := newEnv(t, envConfig{tokens: []string{"s3cret"}})
	future := t0.Add(2 * time.Hour).Format(time.RFC3339)
	past := t0.Add(-2 * time.Hour).Format(time.RFC3339)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string // error code for non-2xx
	}{
		{"list users", "GET", "/api/v1/users", "", 200, ""},
		{"list bad limit", "GET", "/api/v1/users?limit=0", "", 400, "bad_request"},
		{"list limit too big", "GET", "/api/v1/users?limit=5000", "", 400, "bad_request"},
		{"list bad offset", "GET", "/api/v1/users?offset=-1", "", 400, "bad_request"},
		{"list bad availability", "GET", "/api/v1/users?availability=sleeping", "", 400, "bad_request"},
		{"list bad sync filter", "GET", "/api/v1/users?sync=maybe", "", 400, "bad_request"},
		{"presence", "GET", "/api/v1/users/alice@example.com/presence", "", 200, ""},
		{"presence unknown", "GET", "/api/v1/users/nobody@example.com/presence", "", 404, "unknown_user"},
		{"presence, address in another case", "GET", "/api/v1/users/Alice@Example.COM/presence", "", 200, ""},
		{"agenda default day", "GET", "/api/v1/users/alice@example.com/agenda", "", 200, ""},
		{"agenda range", "GET", "/api/v1/users/alice@example.com/agenda?start=2026-03-30T00:00:00Z&end=2026-03-31T00:00:00Z", "", 200, ""},
		{"agenda bad start", "GET", "/api/v1/users/alice@example.com/agenda?start=yesterday", "", 400, "invalid_range"},
		{"agenda bad end", "GET", "/api/v1/users/alice@example.com/agenda?end=2026-13-01T00:00:00Z", "", 400, "invalid_range"},
		{"agenda end before start", "GET", "/api/v1/users/alice@example.com/agenda?start=2026-03-30T00:00:00Z&end=2026-03-29T00:00:00Z", "", 400, "invalid_range"},
		{"agenda empty range", "GET", "/api/v1/users/alice@example.com/agenda?start=2026-03-30T00:00:00Z&end=2026-03-30T00:00:00Z", "", 400, "invalid_range"},
		{"agenda range too long", "GET", "/api/v1/users/alice@example.com/agenda?start=2026-01-01T00:00:00Z&end=2026-06-01T00:00:00Z", "", 400, "invalid_range"},
		{"agenda unknown", "GET", "/api/v1/users/nobody@example.com/agenda", "", 404, "unknown_user"},
		{"user sync", "GET", "/api/v1/users/carol@example.com/sync", "", 200, ""},
		{"user sync unknown", "GET", "/api/v1/users/nobody@example.com/sync", "", 404, "unknown_user"},
		{"sync overview", "GET", "/api/v1/sync", "", 200, ""},
		{"sync overview bad health", "GET", "/api/v1/sync?health=sick", "", 400, "bad_request"},
		{"override", "PUT", "/api/v1/users/bob@example.com/override", `{"availability":"busy","status_text":"Focus time","until":"` + future + `"}`, 200, ""},
		{"override until next transition", "PUT", "/api/v1/users/alice@example.com/override", `{"availability":"available"}`, 200, ""},
		{"override no body", "PUT", "/api/v1/users/bob@example.com/override", "", 400, "bad_request"},
		{"override bad json", "PUT", "/api/v1/users/bob@example.com/override", `{"availability":`, 400, "bad_request"},
		{"override unknown field", "PUT", "/api/v1/users/bob@example.com/override", `{"availability":"busy","color":"red"}`, 400, "bad_request"},
		{"override bad availability", "PUT", "/api/v1/users/bob@example.com/override", `{"availability":"sleeping"}`, 400, "bad_request"},
		{"override unknown availability", "PUT", "/api/v1/users/bob@example.com/override", `{"availability":"unknown"}`, 400, "bad_request"},
		{"override bad status template", "PUT", "/api/v1/users/bob@example.com/override", `{"availability":"busy","status_text":"until {{"}`, 400, "bad_request"},
		{"override until in the past", "PUT", "/api/v1/users/bob@example.com/override", `{"availability":"busy","until":"` + past + `"}`, 400, "invalid_range"},
		{"override unknown user", "PUT", "/api/v1/users/nobody@example.com/override", `{"availability":"busy"}`, 404, "unknown_user"},
		{"clear override", "DELETE", "/api/v1/users/bob@example.com/override", "", 200, ""},
		{"clear override unknown", "DELETE", "/api/v1/users/nobody@example.com/override", "", 404, "unknown_user"},
		{"dry-run current", "POST", "/api/v1/users/alice@example.com/dry-run", "", 200, ""},
		{"dry-run proposed", "POST", "/api/v1/users/alice@example.com/dry-run", `{"days":2,"rules":[{"name":"all busy","match":{"free_busy":["busy"]},"availability":"busy","profile":"Busy"}]}`, 200, ""},
		{"dry-run proposed rule set", "POST", "/api/v1/users/alice@example.com/dry-run", `{"rules":{"merge_gap_minutes":5,"rules":[{"name":"x","match":{"subject":"lunch"},"ignore":true}]}}`, 200, ""},
		{"dry-run rules not array or object", "POST", "/api/v1/users/alice@example.com/dry-run", `{"rules":"all busy"}`, 400, "bad_request"},
		{"dry-run rules with a bad value", "POST", "/api/v1/users/alice@example.com/dry-run", `{"rules":[{"name":"x","match":{"free_busy":["sleeping"]}}]}`, 400, "bad_request"},
		{"dry-run rules with a typo", "POST", "/api/v1/users/alice@example.com/dry-run", `{"rules":[{"name":"x","mach":{}}]}`, 400, "bad_request"},
		{"dry-run rule set with a bad option", "POST", "/api/v1/users/alice@example.com/dry-run", `{"rules":{"merge_gap_minutes":-1}}`, 400, "bad_request"},
		{"dry-run too long", "POST", "/api/v1/users/alice@example.com/dry-run", `{"days":30}`, 400, "invalid_range"},
		{"dry-run end before start", "POST", "/api/v1/users/alice@example.com/dry-run", `{"start":"2026-03-30T00:00:00Z","end":"2026-03-29T00:00:00Z"}`, 400, "invalid_range"},
		{"dry-run unknown", "POST", "/api/v1/users/nobody@example.com/dry-run", "", 404, "unknown_user"},
		{"sync-now", "POST", "/api/v1/users/alice@example.com/sync-now", "", 200, ""},
		{"sync-now unknown", "POST", "/api/v1/users/nobody@example.com/sync-now", "", 404, "unknown_user"},
		{"healthz", "GET", "/healthz", "", 200, ""},
		{"readyz degraded", "GET", "/readyz", "", 200, ""},
		{"metrics", "GET", "/metrics", "", 200, ""},
		{"openapi", "GET", "/api/v1/openapi.yaml", "", 200, ""},
		{"unknown api path", "GET", "/api/v1/nothing", "", 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/users", "", 405, "method_not_allowed"},
		{"wrong method on user path", "POST", "/api/v1/users/alice@example.com/presence", "", 405, "method_not_allowed"},
		{"dashboard", "GET", "/", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := e.do(t, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, data, tt.wantStatus)
			}
			if tt.wantCode != "" {
				if got := errorCode(t, data); got != tt.wantCode {
					t.Errorf("error code = %q, want %q (%s)", got, tt.wantCode, data)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("error Content-Type = %q, want JSON", ct)
				}
			}
			if tt.wantStatus == 405 && resp.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow header")
			}
		})
	}
}

func TestPresenceCarriesWhyAndNext(t *testing.T) {
	e := newEnv(t, envConfig{})
	p, err := e.client.Presence(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatalf("Presence: %v", err)
	}
	if p.Availability != "busy" || p.StatusText != "In a meeting until 10:00" {
		t.Errorf("Presence = %+v, want busy / In a meeting until 10:00", p)
	}
	if p.Why.Source != "calendar" || p.Why.Rule != "meetings" || p.Why.ItemID != "AAMk1" {
		t.Errorf("Why = %+v, want calendar/meetings/AAMk1", p.Why)
	}
	if p.Next == nil || !p.Next.At.Equal(t0.Add(time.Hour)) || p.Next.Availability != "available" {
		t.Errorf("Next = %+v, want available at %s", p.Next, t0.Add(time.Hour))
	}
	if p.Until == nil || !p.Until.Equal(t0.Add(time.Hour)) {
		t.Errorf("Until = %v, want %s", p.Until, t0.Add(time.Hour))
	}
	bob, err := e.client.Presence(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatalf("Presence(bob): %v", err)
	}
	if bob.Until != nil || bob.Since != nil || bob.Next != nil {
		t.Errorf("open-ended presence should omit since/until/next, got %+v", bob)
	}
	_, err = e.client.Presence(context.Background(), "nobody@example.com")
	if apiclient.StatusOf(err) != http.StatusNotFound {
		t.Errorf("Presence(nobody) error = %v, want 404", err)
	}
}

func TestAgendaAppliesPrivacy(t *testing.T) {
	day := func(e *env) api.AgendaDTO {
		a, err := e.client.Agenda(context.Background(), "alice@example.com", time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatalf("Agenda: %v", err)
		}
		return a
	}
	a := day(newEnv(t, envConfig{}))
	if len(a.Items) != 2 {
		t.Fatalf("Agenda items = %d, want 2 (the next-week item is outside the range): %+v", len(a.Items), a.Items)
	}
	normal, private := a.Items[0], a.Items[1]
	if normal.Subject != "Standup" || normal.Location != "Room 1" || normal.Private {
		t.Errorf("normal item = %+v, want subject and location shown", normal)
	}
	if !private.Private || private.Subject == "Doctor" || private.Location != "" || private.Categories != nil || private.Organizer != "" {
		t.Errorf("private item = %+v, want subject, location, categories masked", private)
	}
	if private.FreeBusy != "OOF" || !private.Start.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("private item keeps times and free/busy, got %+v", private)
	}
	raw, _ := json.Marshal(a)
	if bytes.Contains(raw, []byte("Doctor")) || bytes.Contains(raw, []byte("Clinic")) {
		t.Errorf("agenda JSON leaks the private subject or location: %s", raw)
	}

	allowed := day(newEnv(t, envConfig{reveal: func(user string, o calendar.Occurrence) bool { return o.ItemID == "AAMk2" }}))
	if got := allowed.Items[1]; got.Private || got.Subject != "Doctor" || got.Location != "Clinic" {
		t.Errorf("with a rule allowing it, private item = %+v, want revealed", got)
	}
}

func TestOverrideAndDryRun(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	until := t0.Add(2 * time.Hour)
	p, err := e.client.SetOverride(ctx, "bob@example.com", api.OverrideRequest{Availability: "busy", StatusText: "Focus", Until: &until})
	if err != nil {
		t.Fatalf("SetOverride: %v", err)
	}
	if p.Availability != "busy" || p.Why.Source != "override" || p.Until == nil || !p.Until.Equal(until) {
		t.Errorf("SetOverride = %+v, want busy override until %s", p, until)
	}
	if got, _ := e.client.Presence(ctx, "bob@example.com"); got.Availability != "busy" {
		t.Errorf("Presence after override = %s, want busy", got.Availability)
	}
	p, err = e.client.ClearOverride(ctx, "bob@example.com")
	if err != nil || p.Availability != "available" {
		t.Errorf("ClearOverride = %+v, %v; want available", p, err)
	}

	d, err := e.client.DryRun(ctx, "alice@example.com", api.DryRunRequest{Days: 1})
	if err != nil {
		t.Fatalf("DryRun: %v", err)
	}
	if d.Rules != "current" || len(d.Timeline) != 3 || !d.Start.Equal(t0) || !d.End.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("DryRun = %+v, want 3 blocks over one day under current rules", d)
	}
	if e.dryRun.Rules() != nil {
		t.Errorf("current rules should reach the runner as nil, got %+v", e.dryRun.Rules())
	}
	d, err = e.client.DryRun(ctx, "alice@example.com", api.DryRunRequest{Rules: json.RawMessage(`[{"name":"focus","match":{"categories":["Focus"]},"availability":"busy","profile":"Focus"}]`)})
	if err != nil || d.Rules != "proposed" {
		t.Fatalf("DryRun(proposed) = %+v, %v", d, err)
	}
	if got := e.dryRun.Rules(); got == nil || got.RuleSet().Rules[0].Name != "focus" {
		t.Errorf("the runner got rules %+v, want the compiled proposal starting with focus", got)
	}
}

func TestSyncEndpoints(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	st, err := e.client.SyncStatus(ctx, "carol@example.com")
	if err != nil {
		t.Fatalf("SyncStatus: %v", err)
	}
	if st.Healthy || st.State != "backoff" || st.LastError == nil || st.LastError.Code != "ErrorServerBusy" || st.LastError.Hint != "wait" {
		t.Errorf("SyncStatus(carol) = %+v, want unhealthy backoff with ErrorServerBusy", st)
	}
	ov, err := e.client.SyncOverview(ctx, apiclient.SyncOverviewOptions{})
	if err != nil {
		t.Fatalf("SyncOverview: %v", err)
	}
	if ov.Mailboxes != 3 || ov.Healthy != 2 || ov.Unhealthy != 1 || ov.Total != 3 {
		t.Errorf("SyncOverview totals = %d/%d/%d/%d, want 3 mailboxes, 2 healthy, 1 unhealthy", ov.Mailboxes, ov.Healthy, ov.Unhealthy, ov.Total)
	}
	if len(ov.Groups) != 2 || ov.Groups[0].Key != "g1" || ov.Groups[0].Mailboxes != 2 || ov.Groups[0].States["subscribed"] != 2 ||
		len(ov.Groups[0].Connections) != 1 || ov.Groups[1].Unhealthy != 1 {
		t.Errorf("Groups = %+v, want g1 (2 subscribed on stream-1) and g2 (1 unhealthy)", ov.Groups)
	}
	bad, err := e.client.SyncOverview(ctx, apiclient.SyncOverviewOptions{Health: "unhealthy"})
	if err != nil || bad.Total != 1 || bad.Statuses[0].User != "carol@example.com" {
		t.Errorf("SyncOverview(unhealthy) = %+v, %v; want carol only", bad, err)
	}
	if err := e.client.SyncNow(ctx, "alice@example.com"); err != nil {
		t.Fatalf("SyncNow: %v", err)
	}
	if got := e.sync.Requested(); len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("sync requested for %v, want [alice@example.com]", got)
	}
	e.sync.SyncErr = errors.New("engine: not running")
	err = e.client.SyncNow(ctx, "alice@example.com")
	if apiclient.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "not running") {
		t.Errorf("SyncNow with a failing engine = %v, want 503 naming the cause", err)
	}
}

func TestSyncGroupsIncludeEngineStreams(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.sync.SetStreamGroups(api.StreamGroup{Key: "g1", Anchor: "alice@example.com", Subscriptions: 2, Connections: []api.StreamConnection{
		{Name: "stream-1", State: "open", Subscriptions: 2, Since: t0.Add(-time.Hour), Reconnects: 1},
		{Name: "stream-9", State: "backoff", LastError: "ErrorServerBusy"},
	}}, api.StreamGroup{Key: "g3", Subscriptions: 0})
	ov, err := e.client.SyncOverview(context.Background(), apiclient.SyncOverviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Groups) != 3 {
		t.Fatalf("groups = %+v, want g1, g2 and the empty g3", ov.Groups)
	}
	g1 := ov.Groups[0]
	if g1.Anchor != "alice@example.com" || g1.Subscriptions != 2 || len(g1.Streams) != 2 || g1.Streams[1].State != "backoff" ||
		strings.Join(g1.Connections, ",") != "stream-1,stream-9" || g1.Mailboxes != 2 {
		t.Errorf("g1 = %+v, want the engine's anchor, 2 streams and the statuses' counts", g1)
	}
	if g1.Streams[0].Since == nil || !g1.Streams[0].Since.Equal(t0.Add(-time.Hour)) || g1.Streams[1].Since != nil {
		t.Errorf("stream instants = %v / %v, want since set only when known", g1.Streams[0].Since, g1.Streams[1].Since)
	}
}

func TestUserListPagingSearchFilter(t *testing.T) {
	e := newEnv(t, envConfig{})
	for i := range 250 {
		a := presence.Available
		if i%5 == 0 {
			a = presence.Busy
		}
		e.presence.Set(presence.Presence{User: userName(i), Availability: a, StatusText: "status " + string(a)}, t0)
	}
	ctx := context.Background()
	page1, err := e.client.Users(ctx, apiclient.ListUsersOptions{Limit: 100})
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if page1.Total != 253 || len(page1.Users) != 100 || page1.Users[0].User != "alice@example.com" {
		t.Errorf("page 1: total %d, %d users, first %q; want 253, 100, alice", page1.Total, len(page1.Users), page1.Users[0].User)
	}
	last, err := e.client.Users(ctx, apiclient.ListUsersOptions{Offset: 200, Limit: 100})
	if err != nil || len(last.Users) != 53 {
		t.Fatalf("last page: %d users, %v; want 53", len(last.Users), err)
	}
	beyond, err := e.client.Users(ctx, apiclient.ListUsersOptions{Offset: 1000})
	if err != nil || len(beyond.Users) != 0 || beyond.Total != 253 {
		t.Errorf("beyond the end: %+v, %v; want empty page", beyond, err)
	}
	if page1.Counts["busy"] != 51 || page1.Counts["available"] != 201 || page1.Counts["out_of_office"] != 1 {
		t.Errorf("counts = %v, want busy 51, available 201, out_of_office 1", page1.Counts)
	}
	busy, err := e.client.Users(ctx, apiclient.ListUsersOptions{Availability: []string{"busy", "out_of_office"}, Limit: 1000})
	if err != nil || busy.Total != 52 {
		t.Errorf("availability filter total = %d, %v; want 52", busy.Total, err)
	}
	found, err := e.client.Users(ctx, apiclient.ListUsersOptions{Query: "USER-0042"})
	if err != nil || found.Total != 1 || found.Users[0].User != "user-0042@example.com" {
		t.Errorf("search = %+v, %v; want user-0042 only", found.Users, err)
	}
	byText, err := e.client.Users(ctx, apiclient.ListUsersOptions{Query: "out of office"})
	if err != nil || byText.Total != 1 || byText.Users[0].User != "carol@example.com" {
		t.Errorf("search by status text = %+v, %v; want carol", byText.Users, err)
	}
	unhealthy, err := e.client.Users(ctx, apiclient.ListUsersOptions{Sync: "unhealthy"})
	if err != nil || unhealthy.Total != 251 {
		t.Errorf("sync=unhealthy total = %d, %v; want 251 (carol plus users without status)", unhealthy.Total, err)
	}
	if s := page1.Users[0].Sync; s == nil || !s.Healthy || s.State != "subscribed" {
		t.Errorf("alice's sync summary = %+v, want healthy subscribed", s)
	}
	if page1.EventID != e.log.LastID() {
		t.Errorf("event_id = %d, want the event log's last id %d", page1.EventID, e.log.LastID())
	}
}

func userName(i int) string {
	return "user-" + string(rune('0'+i/1000%10)) + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)) + "@example.com"
}
