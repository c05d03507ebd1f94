package graphserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/internal/clock"
)

const (
	tenant   = "contoso.onmicrosoft.com"
	clientID = "11111111-2222-3333-4444-555555555555"
	secret   = "s3cret~value"
)

// start is the simulators' clock start in these tests.
var start = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

// env is a simulator with its Graph face on an httptest server.
type env struct {
	t     *testing.T
	sim   *ewssim.Simulator
	clk   *clock.Fake
	graph *graphserver.Server
	srv   *httptest.Server
	token string
}

func newEnv(t *testing.T, mailboxes int, mod func(*graphserver.Options)) *env {
	t.Helper()
	clk := clock.NewFake(start)
	sim, err := ewssim.New(ewssim.Options{Options: ewsmem.Options{Clock: clk, Mailboxes: mailboxes, Seed: 3}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	// Graph serves cloud mailboxes only: these tests put all of them there.
	if err := sim.PlaceInCloud(sim.Mailboxes()...); err != nil {
		t.Fatal(err)
	}
	opts := graphserver.Options{Tenant: tenant, ClientID: clientID, ClientSecret: secret, NotifyInterval: 10 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	g, err := graphserver.New(sim, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close() })
	e := &env{t: t, sim: sim, clk: clk, graph: g, srv: srv}
	if opts.ClientSecret != "" {
		e.token = e.getToken()
	}
	return e
}

func (e *env) getToken() string {
	e.t.Helper()
	status, body := e.form("/"+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if status != 200 {
		e.t.Fatalf("token: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		e.t.Fatal(err)
	}
	return tok.AccessToken
}

func (e *env) form(path string, v url.Values) (int, []byte) {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// do sends a Graph request with the env's token; header pairs follow.
func (e *env) do(method, pathOrURL, body string, header ...string) *http.Response {
	e.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = e.srv.URL + u
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// get decodes a 200 answer into v.
func (e *env) get(pathOrURL string, v any, header ...string) {
	e.t.Helper()
	resp := e.do(http.MethodGet, pathOrURL, "", header...)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", pathOrURL, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("GET %s: %v in %s", pathOrURL, err, b)
	}
}

// graphError is the error envelope as a client reads it.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
			Date      string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

// wantError asserts status and code of an error answer and its shape.
func wantError(t *testing.T, resp *http.Response, status int, code string) graphError {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	var ge graphError
	if err := json.Unmarshal(b, &ge); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, b)
	}
	if ge.Error.Code != code {
		t.Fatalf("code %q, want %q: %s", ge.Error.Code, code, b)
	}
	if ge.Error.Message == "" || ge.Error.InnerError.RequestID == "" || ge.Error.InnerError.Date == "" {
		t.Fatalf("error lacks message, innerError.request-id or date: %s", b)
	}
	if rid := resp.Header.Get("request-id"); rid != ge.Error.InnerError.RequestID {
		t.Fatalf("request-id header %q, body %q", rid, ge.Error.InnerError.RequestID)
	}
	return ge
}

// event is the part of an event the tests read.
type event struct {
	ID             string `json:"id"`
	Subject        string `json:"subject"`
	Type           string `json:"type"`
	ShowAs         string `json:"showAs"`
	SeriesMasterID string `json:"seriesMasterId"`
	Start          struct {
		DateTime string `json:"dateTime"`
		TimeZone string `json:"timeZone"`
	} `json:"start"`
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

type page struct {
	Value     []event `json:"value"`
	NextLink  string  `json:"@odata.nextLink"`
	DeltaLink string  `json:"@odata.deltaLink"`
}

// addItems puts n one-hour busy items into mailbox smtp on the test day.
func (e *env) addItems(smtp string, n int, prefix string) []ews.ItemId {
	e.t.Helper()
	var ids []ews.ItemId
	for i := range n {
		s := start.Add(time.Duration(i) * time.Hour)
		id, err := e.sim.AddCalendarItem(smtp, ews.CalendarItem{Subject: prefix + string(rune('A'+i%26)), Start: s, End: s.Add(time.Hour),
			LegacyFreeBusyStatus: ews.FreeBusyBusy, Sensitivity: ews.SensitivityNormal})
		if err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

const window = "startDateTime=2027-03-01T00:00:00Z&endDateTime=2027-03-08T00:00:00Z"
