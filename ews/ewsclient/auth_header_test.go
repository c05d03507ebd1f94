package ewsclient_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/calsync/calsync/ews/ewsclient"
)

// TestAuthDecoratorsLeaveTheRequestAlone: Basic and OAuth2 send the
// caller's headers plus Authorization and never change the caller's
// request, also when the next decorator changes the copy's headers.
func TestAuthDecoratorsLeaveTheRequestAlone(t *testing.T) {
	for name, decorate := range map[string]func(ewsclient.HTTPClient) ewsclient.HTTPClient{
		"basic": func(next ewsclient.HTTPClient) ewsclient.HTTPClient { return ewsclient.BasicAuth(next, "svc", "pa:ss") },
		"oauth2": func(next ewsclient.HTTPClient) ewsclient.HTTPClient {
			return ewsclient.OAuth2(next, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok", TokenType: "Bearer"}))
		},
	} {
		req, err := http.NewRequest(http.MethodPost, "https://mail.contoso.com/EWS/Exchange.asmx", strings.NewReader("<x/>"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Add("X-Two", "a")
		req.Header.Add("X-Two", "b")
		var sent *http.Request
		_, _ = decorate(ewsclient.HTTPClientFunc(func(r *http.Request) (*http.Response, error) {
			sent = r
			r.Header.Add("X-Two", "c") // must not reach the caller's array
			r.Header.Set("Content-Type", "changed")
			return nil, http.ErrHandlerTimeout
		})).Do(req)
		if sent == nil || sent == req {
			t.Fatalf("%s: the caller's request itself was sent", name)
		}
		want := map[string]string{"basic": "Basic c3ZjOnBhOnNz", "oauth2": "Bearer tok"}[name]
		if got := sent.Header.Get("Authorization"); got != want {
			t.Errorf("%s: Authorization %q, want %q", name, got, want)
		}
		if got := sent.Header.Values("X-Two"); strings.Join(got, ",") != "a,b,c" {
			t.Errorf("%s: sent X-Two %v", name, got)
		}
		if req.Header.Get("Authorization") != "" || req.Header.Get("Content-Type") != "text/xml" || strings.Join(req.Header.Values("X-Two"), ",") != "a,b" {
			t.Errorf("%s: the caller's header changed: %v", name, req.Header)
		}
		if user, pass, ok := sent.BasicAuth(); name == "basic" && (!ok || user != "svc" || pass != "pa:ss") {
			t.Errorf("basic: credentials %q %q %v", user, pass, ok)
		}
	}
}
