package ewsclient

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceDirRedacts: one file per request and response, named after the
// SOAP operation, well-formed XML, and none of the credentials: Basic
// header, NTLM blobs in WWW-Authenticate, cookies, a password element, a
// token in the query.
func TestTraceDirRedacts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("WWW-Authenticate", "NTLM TlRMTVNTUAACAAAADAAMADgAAAAFgomi")
		w.Header().Set("Set-Cookie", "X-BackEndCookie=s3ssion; path=/")
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetFolderResponse>--</GetFolderResponse></s:Body></s:Envelope>`)
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "trace")
	traced, err := TraceDir(http.DefaultClient, dir)
	if err != nil {
		t.Fatal(err)
	}
	hc := BasicAuth(traced, "svc", "hunter2") // the trace sees the Authorization header
	body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="m"><s:Body><m:GetFolder><m:Password>hunter2</m:Password></m:GetFolder></s:Body></s:Envelope>`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/EWS/Exchange.asmx?access_token=tok3n&x=1", strings.NewReader(body))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "GetFolderResponse") {
		t.Errorf("the caller got %q", b)
	}
	resp.Body.Close()

	for _, name := range []string{"0001-GetFolder-request.xml", "0001-GetFolder-response.xml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := string(b)
		for _, secret := range []string{"hunter2", "c3ZjOmh1bnRlcjI=", "TlRMTVNTUAACAAAADAAMADgAAAAFgomi", "s3ssion", "tok3n"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s contains the secret %q:\n%s", name, secret, s)
			}
		}
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			if _, err := d.Token(); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Errorf("%s is not well-formed: %v\n%s", name, err, s)
				}
				break
			}
		}
	}
	req1, _ := os.ReadFile(filepath.Join(dir, "0001-GetFolder-request.xml"))
	for _, want := range []string{"POST http://", "Authorization: [redacted]", "<m:Password>[redacted]</m:Password>", "x=1"} {
		if !strings.Contains(string(req1), want) {
			t.Errorf("request file lacks %q:\n%s", want, req1)
		}
	}
	resp1, _ := os.ReadFile(filepath.Join(dir, "0001-GetFolder-response.xml"))
	for _, want := range []string{"200 OK", "Www-Authenticate: [redacted]", "Set-Cookie: [redacted]"} {
		if !strings.Contains(string(resp1), want) {
			t.Errorf("response file lacks %q:\n%s", want, resp1)
		}
	}
}
