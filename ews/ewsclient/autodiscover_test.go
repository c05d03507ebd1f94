package ewsclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// autodiscoverServer answers per mailbox: "redirect-addr@…" → RedirectAddress
// to real@…, "redirect-url@…" → RedirectUrl to /other (once), "loop@…" →
// RedirectAddress to itself forever, others → settings.
func autodiscoverServer(t *testing.T) (*httptest.Server, *int) {
	calls := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		body, _ := io.ReadAll(r.Body)
		env, err := ewswire.DecodeRequest(bytes.NewReader(body), ewswire.DefaultLimits)
		if err != nil {
			t.Errorf("decode: %v", err)
			return
		}
		req := env.Body.(*ewswire.GetUserSettingsRequestMessage)
		if env.Header.To == nil || env.Header.To.Value != srv.URL+r.URL.Path || env.Header.Action.Value != ewswire.AutodiscoverActionGetUserSettings {
			t.Errorf("addressing headers = %+v", env.Header)
		}
		resp := &ewswire.GetUserSettingsResponseMessage{}
		resp.Response.ErrorCode = "NoError"
		for _, mb := range req.Mailboxes() {
			u := ewswire.UserResponse{ErrorCode: "NoError"}
			switch {
			case strings.HasPrefix(mb, "redirect-addr@"):
				u.ErrorCode, u.RedirectTarget = "RedirectAddress", "real@contoso.com"
			case strings.HasPrefix(mb, "redirect-url@") && r.URL.Path != "/other/autodiscover/autodiscover.svc":
				u.ErrorCode, u.RedirectTarget = "RedirectUrl", srv.URL+"/other"
			case strings.HasPrefix(mb, "loop@"):
				u.ErrorCode, u.RedirectTarget = "RedirectAddress", mb
			case strings.HasPrefix(mb, "nobody@"):
				u.ErrorCode, u.ErrorMessage = "InvalidUser", "Invalid user"
			default:
				u.SetSettings(map[string]string{ewsclient.SettingExternalEwsURL: "https://ews" + r.URL.Path, ewsclient.SettingGroupingInformation: mb}, ewsclient.DefaultAutodiscoverSettings)
			}
			resp.Response.UserResponses.UserResponse = append(resp.Response.UserResponses.UserResponse, u)
		}
		_ = ewswire.EncodeEnvelope(w, nil, resp)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestAutodiscoverRedirects(t *testing.T) {
	srv, calls := autodiscoverServer(t)
	c, _ := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{})
	res, err := c.GetUserSettings(context.Background(), ewsclient.AutodiscoverRequest{
		URL:       srv.URL + "/autodiscover/autodiscover.svc",
		Mailboxes: []string{"plain@contoso.com", "redirect-addr@contoso.com", "redirect-url@contoso.com", "loop@contoso.com", "nobody@contoso.com"},
		MaxHops:   2,
	})
	if err != nil {
		t.Fatalf("GetUserSettings() = %v", err)
	}
	if res[0].Err != nil || res[0].Settings[ewsclient.SettingGroupingInformation] != "plain@contoso.com" {
		t.Errorf("plain = %+v", res[0])
	}
	if res[1].Err != nil || res[1].Resolved != "real@contoso.com" || res[1].Mailbox != "redirect-addr@contoso.com" || res[1].Settings[ewsclient.SettingGroupingInformation] != "real@contoso.com" {
		t.Errorf("redirect address = %+v", res[1])
	}
	if res[2].Err != nil || res[2].EWSURL() != "https://ews/other/autodiscover/autodiscover.svc" {
		t.Errorf("redirect url = %+v", res[2])
	}
	var ae *ewsclient.AutodiscoverError
	if !errors.As(res[3].Err, &ae) || ae.Code != "RedirectAddress" {
		t.Errorf("loop = %+v, want a bounded redirect error", res[3])
	}
	if !errors.As(res[4].Err, &ae) || ae.Code != "InvalidUser" {
		t.Errorf("nobody = %+v", res[4])
	}
	if *calls > 4 {
		t.Errorf("server calls = %d, want at most 1 + MaxHops + 1", *calls)
	}
	if _, err := c.GetUserSettings(context.Background(), ewsclient.AutodiscoverRequest{URL: srv.URL, Mailboxes: make([]string, 91)}); err == nil {
		t.Error("GetUserSettings(91 mailboxes) = nil error")
	}
}

// TestRequestValidation: invalid inputs are refused before anything is sent.
func TestRequestValidation(t *testing.T) {
	f, c, _ := newFake(t, nil)
	ctx := context.Background()
	call := ewsclient.ActAs("alice@contoso.com")
	errs := []error{
		func() error {
			_, err := c.CalendarView(ctx, call, ewsclient.CalendarViewRequest{Start: testStart, End: testStart})
			return err
		}(),
		func() error {
			_, err := c.CalendarView(ctx, call, ewsclient.CalendarViewRequest{Start: testStart, End: testStart.AddDate(3, 0, 0)})
			return err
		}(),
		func() error {
			_, err := c.CalendarView(ctx, call, ewsclient.CalendarViewRequest{Start: testStart, End: testStart.AddDate(0, 0, 1), MaxEntries: 1001})
			return err
		}(),
		func() error { _, err := c.GetItem(ctx, call, ewsclient.GetItemRequest{}); return err }(),
		func() error {
			_, err := c.SyncFolderItems(ctx, call, ewsclient.SyncFolderItemsRequest{MaxChanges: 513})
			return err
		}(),
		func() error {
			_, err := c.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: "Pull", TimeoutMinutes: 1441})
			return err
		}(),
		func() error {
			_, err := c.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: "Push", URL: "ftp://x"})
			return err
		}(),
		func() error {
			_, err := c.Subscribe(ctx, call, ewsclient.SubscribeRequest{Kind: "Streaming", EventTypes: []ews.EventType{ews.EventStatus}})
			return err
		}(),
		func() error { _, err := c.GetEvents(ctx, call, "", ""); return err }(),
		func() error { _, err := c.GetUserOofSettings(ctx, call, ""); return err }(),
		c.Unsubscribe(ctx, ewsclient.Call{ActAs: ews.ImpersonateSMTP("not-an-address")}, "x"),
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: nil error", i)
		}
	}
	if len(f.requests) != 0 {
		t.Fatalf("%d requests sent for invalid input", len(f.requests))
	}
}

// TestAutodiscoverRedirectStaysInTheOrganization: a RedirectUrl to another
// registrable domain is refused before anything (credentials included) is
// sent there.
func TestAutodiscoverRedirectStaysInTheOrganization(t *testing.T) {
	var elsewhere int
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere++ }))
	defer evil.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp := &ewswire.GetUserSettingsResponseMessage{}
		resp.Response.ErrorCode = "NoError"
		u := ewswire.UserResponse{ErrorCode: "RedirectUrl", RedirectTarget: strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)}
		resp.Response.UserResponses.UserResponse = append(resp.Response.UserResponses.UserResponse, u)
		_ = ewswire.EncodeEnvelope(w, nil, resp)
	}))
	defer srv.Close()
	c, _ := ewsclient.New(srv.URL+"/EWS/Exchange.asmx", &ewsclient.Options{})
	res, err := c.GetUserSettings(context.Background(), ewsclient.AutodiscoverRequest{URL: srv.URL + "/autodiscover/autodiscover.svc", Mailboxes: []string{"alice@contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "leaves 127.0.0.1") {
		t.Errorf("redirect to another host: %+v, want a refusal", res[0])
	}
	if elsewhere != 0 {
		t.Errorf("%d requests reached the other host", elsewhere)
	}
}

func TestSameOrganization(t *testing.T) {
	for _, tc := range []struct {
		start, target string
		want          bool
	}{
		{"autodiscover.example.com", "mail.example.com", true},
		{"autodiscover.corp.example.com", "ex01.example.com", true},
		{"autodiscover.example.com", "autodiscover.example.net", false},
		{"autodiscover.contoso.co.uk", "mail.fabrikam.co.uk", false},
		{"autodiscover.contoso.co.uk", "mail.contoso.co.uk", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "localhost", false},
	} {
		if got := ewsclient.SameOrganizationForTest(tc.start, tc.target); got != tc.want {
			t.Errorf("sameOrganization(%q, %q) = %v, want %v", tc.start, tc.target, got, tc.want)
		}
	}
}
