package hybrid_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/graph/graphserver"
	"github.com/calsync/calsync/graph/graphserver/hybrid"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/internal/testenv"
)

type env struct {
	t     *testing.T
	h     *hybrid.Simulator
	clk   *clock.Fake
	srv   *httptest.Server
	token string
}

// newEnv starts a hybrid simulator with three mailboxes (the last in the
// cloud) on a fake clock, or on the real one when churn must run.
func newEnv(t *testing.T, realClock ...bool) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	var c clock.Clock = clk
	if len(realClock) > 0 {
		c = clock.Real{}
	}
	h, err := hybrid.New(hybrid.Options{
		Sim:            ewssim.Options{Options: ewsmem.Options{Clock: c, Mailboxes: 3, Servers: 2, Seed: 1}, Generate: true, Basic: true},
		Graph:          graphserver.Options{Tenant: "contoso.onmicrosoft.com", ClientID: "app", ClientSecret: "s", NotifyInterval: 10 * time.Millisecond},
		CloudMailboxes: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	e := &env{t: t, h: h, clk: clk, srv: srv}
	e.token = e.newToken()
	return e
}

func (e *env) newToken() string {
	resp, err := http.PostForm(e.srv.URL+"/contoso.onmicrosoft.com/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"app"}, "client_secret": {"s"}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		e.t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// graph GETs a Graph path and returns status and body.
func (e *env) graph(path string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// control calls the control API with the service account's Basic
// credentials.
func (e *env) control(method, path, body string) (int, []byte) {
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.SetBasicAuth("svc-calsync@example.com", "password")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) ewsCode(user string) ews.ResponseCode {
	c := &ewsserver.Caller{Account: e.h.ServiceAccount(), Impersonation: ews.ImpersonateSMTP(user), RequestVersion: ews.Exchange2013SP1, AnchorMailbox: user}
	release, err := e.h.Admit(context.Background(), c)
	if err != nil {
		code, _ := ews.CodeOf(err)
		return code
	}
	release()
	return ews.NoError
}

const view = "/calendarView?startDateTime=2027-02-01T00:00:00Z&endDateTime=2027-04-01T00:00:00Z&$top=1000"

func eventIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var p struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range p.Value {
		ids = append(ids, v.ID)
	}
	return ids
}

func TestCloudMailboxesAndMoves(t *testing.T) {
	e := newEnv(t)
	// user3 lives in the cloud: Graph serves it, EWS answers as for a
	// RemoteUserMailbox; user1 is on premises.
	if status, body := e.graph("/v1.0/users/user3@example.com" + view); status != 200 || len(eventIDs(t, body)) == 0 {
		t.Fatalf("cloud mailbox over Graph: %d %s", status, body)
	}
	if code := e.ewsCode("user3@example.com"); code != ews.ErrorNonExistentMailbox {
		t.Fatalf("cloud mailbox over EWS: %s", code)
	}
	status, body := e.graph("/v1.0/users/user1@example.com" + view)
	if status != 404 || !strings.Contains(string(body), `"MailboxNotEnabledForRESTAPI"`) {
		t.Fatalf("on-premises mailbox over Graph: %d %s", status, body)
	}
	before, err := e.h.CalendarItems("user1@example.com")
	if err != nil || len(before) == 0 {
		t.Fatal("user1 has no generated items", err)
	}
	// Move user1 to the cloud with a one-minute move phase.
	if status, body := e.control(http.MethodPost, "/sim/v1/mailboxes/user1@example.com/move", `{"to":"cloud","phase":"1m"}`); status != 202 || !strings.Contains(string(body), `"moving_to": "cloud"`) {
		t.Fatalf("move: %d %s", status, body)
	}
	if code := e.ewsCode("user1@example.com"); code != ews.ErrorMailboxMoveInProgress {
		t.Fatalf("EWS during the move: %s", code)
	}
	if status, _ := e.graph("/v1.0/users/user1@example.com" + view); status != 404 {
		t.Fatalf("Graph during the move: %d", status)
	}
	if status, _ := e.control(http.MethodPost, "/sim/v1/mailboxes/user1@example.com/move", `{"to":"cloud"}`); status != http.StatusConflict {
		t.Fatalf("second move: %d, want 409", status)
	}
	e.clk.Advance(time.Minute)
	testenv.WaitFor(t, "user1 in the cloud", func() bool { return e.h.InCloud("user1@example.com") })
	e.token = e.newToken()
	status, body = e.graph("/v1.0/users/user1@example.com" + view)
	if status != 200 {
		t.Fatalf("Graph after the move: %d %s", status, body)
	}
	old := map[string]bool{}
	for _, it := range before {
		old[strings.NewReplacer("/", "-", "+", "_").Replace(it.ItemId.Id)] = true
	}
	for _, id := range eventIDs(t, body) {
		if old[id] {
			t.Fatalf("event id %s survived the move", id)
		}
	}
	if code := e.ewsCode("user1@example.com"); code != ews.ErrorNonExistentMailbox {
		t.Fatalf("EWS after the move: %s", code)
	}
	// And back, at once, to the second server.
	server := e.h.Servers()[1]
	if status, body := e.control(http.MethodPost, "/sim/v1/mailboxes/user1@example.com/move", `{"to":"`+server+`","phase":"0s"}`); status != 202 {
		t.Fatalf("move back: %d %s", status, body)
	}
	if code := e.ewsCode("user1@example.com"); code != ews.NoError {
		t.Fatalf("EWS after moving back: %s", code)
	}
	if status, body := e.control(http.MethodGet, "/sim/v1/mailboxes/user1@example.com/hosting", ""); status != 200 || !strings.Contains(string(body), server) {
		t.Fatalf("hosting: %d %s", status, body)
	}
}

func TestControlRefusals(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/sim/v1/mailboxes/nobody@example.com/move", `{"to":"cloud"}`, 404},
		{"/sim/v1/mailboxes/user3@example.com/move", `{"to":"cloud"}`, 400},
		{"/sim/v1/mailboxes/user1@example.com/move", `{"to":"mars"}`, 400},
		{"/sim/v1/mailboxes/user1@example.com/move", `{}`, 400},
		{"/sim/v1/mailboxes/user1@example.com/move", `{"to":"cloud","phase":"soon"}`, 400},
		{"/sim/v1/mailboxes/user1@example.com/move", `{"to":`, 400},
		{"/sim/v1/graph/faults", `{"throttle_percent":200}`, 400},
		{"/sim/v1/graph/faults", `{"lifecycle":"bogus"}`, 400},
		{"/sim/v1/graph/scope", `{"propagation":"later"}`, 400},
	} {
		if status, body := e.control(http.MethodPost, c.path, c.body); status != c.status || !strings.Contains(string(body), `"error"`) {
			t.Errorf("POST %s %s: %d %s, want %d", c.path, c.body, status, body, c.status)
		}
	}
	// Without credentials the control API is closed.
	resp, err := http.Post(e.srv.URL+"/sim/v1/mailboxes/user1@example.com/move", "application/json", strings.NewReader(`{"to":"cloud"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("move without credentials: %d", resp.StatusCode)
	}
}

func TestGraphFaultsAndChurnOverControl(t *testing.T) {
	e := newEnv(t, true)
	if status, body := e.control(http.MethodPost, "/sim/v1/graph/faults", `{"throttle_percent":100}`); status != 200 {
		t.Fatalf("faults: %d %s", status, body)
	}
	if status, _ := e.graph("/v1.0/users/user3@example.com" + view); status != 429 {
		t.Fatalf("under a 100%% throttle fault: %d", status)
	}
	if status, _ := e.control(http.MethodPost, "/sim/v1/graph/faults", `{}`); status != 200 {
		t.Fatal("clear faults")
	}
	if status, _ := e.control(http.MethodPost, "/sim/v1/graph/scope", `{"mailboxes":["user1@example.com"]}`); status != 200 {
		t.Fatal("scope")
	}
	if status, _ := e.graph("/v1.0/users/user3@example.com" + view); status != 403 {
		t.Fatalf("outside the scope: %d", status)
	}
	if status, _ := e.control(http.MethodPost, "/sim/v1/graph/scope", `{}`); status != 200 {
		t.Fatal("scope")
	}
	if status, _ := e.control(http.MethodPost, "/sim/v1/graph/faults", `{"revoke_tokens":true}`); status != 200 {
		t.Fatal("revoke")
	}
	if status, _ := e.graph("/v1.0/users/user3@example.com" + view); status != 401 {
		t.Fatalf("after revoking tokens: %d", status)
	}
	e.token = e.newToken()
	// Churn changes the shared model: a delta round on the cloud mailbox
	// sees changes.
	now := time.Now().UTC()
	_, body := e.graph("/v1.0/users/user3@example.com/calendarView/delta?startDateTime=" + now.AddDate(0, -2, 0).Format(time.RFC3339) + "&endDateTime=" + now.AddDate(0, 3, 0).Format(time.RFC3339))
	link := deltaLinkOf(t, e, body)
	if err := e.h.StartChurn(200, 5); err != nil {
		t.Fatal(err)
	}
	defer e.h.StopChurn()
	testenv.WaitFor(t, "a delta round with churn's changes", func() bool {
		status, body := e.graph(strings.TrimPrefix(link, e.srv.URL))
		if status != 200 {
			t.Fatalf("delta: %d %s", status, body)
		}
		var p struct {
			Value     []json.RawMessage `json:"value"`
			DeltaLink string            `json:"@odata.deltaLink"`
			NextLink  string            `json:"@odata.nextLink"`
		}
		_ = json.Unmarshal(body, &p)
		if p.NextLink != "" {
			return true
		}
		link = p.DeltaLink
		return len(p.Value) > 0
	})
}

// deltaLinkOf follows an initial round to its deltaLink.
func deltaLinkOf(t *testing.T, e *env, body []byte) string {
	for {
		var p struct {
			DeltaLink string `json:"@odata.deltaLink"`
			NextLink  string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if p.DeltaLink != "" {
			return p.DeltaLink
		}
		var status int
		status, body = e.graph(strings.TrimPrefix(p.NextLink, e.srv.URL))
		if status != 200 {
			t.Fatalf("delta page: %d %s", status, body)
		}
	}
}

func TestAutodiscoverV2(t *testing.T) {
	e := newEnv(t)
	get := func(path string) (int, map[string]string) {
		resp, err := http.Get(e.srv.URL + path) // unauthenticated, as in Exchange Online
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if status, m := get("/autodiscover/autodiscover.json?Email=user3@example.com&Protocol=EWS"); status != 200 || m["Url"] != "https://outlook.office365.com/EWS/Exchange.asmx" || m["Protocol"] != "EWS" {
		t.Fatalf("cloud mailbox: %d %v", status, m)
	}
	if status, m := get("/autodiscover/autodiscover.json/v1.0/user1@example.com?Protocol=EWS"); status != 200 || m["Url"] != e.srv.URL+"/EWS/Exchange.asmx" {
		t.Fatalf("on-premises mailbox: %d %v", status, m)
	}
	if status, m := get("/autodiscover/autodiscover.json?Email=user1@example.com&Protocol=Gopher"); status != 400 || m["ErrorCode"] != "InvalidProtocol" {
		t.Fatalf("bad protocol: %d %v", status, m)
	}
	if status, m := get("/autodiscover/autodiscover.json?Email=nobody@example.com&Protocol=EWS"); status != 404 || m["ErrorCode"] != "InvalidUser" {
		t.Fatalf("unknown user: %d %v", status, m)
	}
	// After a move the answer follows.
	if err := e.h.Move("user1@example.com", "cloud", 0); err != nil {
		t.Fatal(err)
	}
	if _, m := get("/autodiscover/autodiscover.json?Email=user1@example.com&Protocol=EWS"); m["Url"] != "https://outlook.office365.com/EWS/Exchange.asmx" {
		t.Fatalf("moved mailbox: %v", m)
	}
}
