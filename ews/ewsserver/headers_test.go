package ewsserver_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/calsync/calsync/ews/ewsserver"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestExchangeHeadersOnEveryAnswer(t *testing.T) {
	srv := newFakeServer(t, &fakeBackend{}, &ewsserver.Options{FrontEnd: "ex16fe.example.com"})
	resp, _ := post(t, srv, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>`+
		`<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`)
	fault, _ := post(t, srv, `<m:NoSuchOperation/>`)
	for name, r := range map[string]*http.Response{"answer": resp, "fault": fault} {
		h := r.Header
		if !guidRE.MatchString(h.Get("request-id")) {
			t.Errorf("%s: request-id = %q, want a GUID", name, h.Get("request-id"))
		}
		for k, want := range map[string]string{"Cache-Control": "private", "X-FEServer": "EX16FE", "X-AspNet-Version": "4.0.30319", "Server": "Microsoft-IIS/10.0"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got, want)
			}
		}
	}
	if resp.Header.Get("request-id") == fault.Header.Get("request-id") {
		t.Errorf("two answers share request-id %s", resp.Header.Get("request-id"))
	}
	if got := resp.Header.Get("X-BEServer"); got != "EX16FE" {
		t.Errorf("X-BEServer = %q, want the front end when the backend names none", got)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "exchangecookie" {
			cookie = c
		}
	}
	if cookie == nil || len(cookie.Value) != 32 || strings.Trim(cookie.Value, "0123456789abcdef") != "" || cookie.Path != "/" {
		t.Fatalf("exchangecookie = %+v, want 32 hex digits for path /", cookie)
	}
	// A client that has the cookie does not get a new one.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/EWS/Exchange.asmx", strings.NewReader(soapRequest(`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>`+
		`<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`)))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.AddCookie(cookie)
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if sc := again.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("Set-Cookie with exchangecookie present: %v", sc)
	}
}
