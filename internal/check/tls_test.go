package check_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/check"
)

func TestTLSCertificate(t *testing.T) {
	sim, err := ewssim.New(ewssim.Options{Generate: true, Options: ewsmem.Options{Mailboxes: 3, Password: "secret"}, Basic: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	srv.StartTLS()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); sim.Close() })
	o := check.Options{Exchange: config.Exchange{EWSURL: srv.URL + "/EWS/Exchange.asmx",
		Auth: config.Auth{Method: config.AuthBasic, Username: sim.ServiceAccount(), Password: config.NewSecret("secret", "test")}},
		Users: []check.User{{SMTP: "user1@example.com"}, {SMTP: "user2@example.com"}}, Timeout: 10 * time.Second, StreamWait: 10 * time.Second}

	rep := run(t, o)
	tl := result(t, rep, check.IDTLS)
	if tl.Status != check.StatusFail || !strings.Contains(tl.Summary, "unknown authority") || !strings.Contains(strings.Join(tl.Fix, " "), "exchange.tls.ca_file") {
		t.Fatalf("TLS = %s: %s %q", tl.Status, tl.Summary, tl.Fix)
	}
	if strings.Contains(strings.Join(tl.Fix, " "), "insecure") {
		t.Errorf("the fix suggests disabling verification: %q", tl.Fix)
	}
	if a := result(t, rep, check.IDAuthentication); a.Status != check.StatusSkip {
		t.Errorf("authentication = %s, want skipped after the TLS failure", a.Status)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	o.Exchange.TLS.CAFile = caFile
	rep = run(t, o)
	if rep.Status != check.StatusOK {
		t.Errorf("with the CA file: status %s\n%s", rep.Status, text(t, rep))
	}
	if tl := result(t, rep, check.IDTLS); tl.Status != check.StatusOK || tl.Facts["tls_version"] == "" {
		t.Errorf("TLS = %+v", tl)
	}

	o.Exchange.TLS.CAFile = ""
	o.Exchange.TLS.InsecureSkipVerify = true
	rep = run(t, o)
	if tl := result(t, rep, check.IDTLS); tl.Status != check.StatusWarn || !strings.Contains(strings.Join(tl.Fix, " "), "exchange.tls.ca_file") {
		t.Errorf("insecure TLS = %+v", tl)
	}
}

// TestUnreachable checks the connectivity failure on a closed port.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	rep := run(t, check.Options{Exchange: config.Exchange{EWSURL: url + "/EWS/Exchange.asmx",
		Auth: config.Auth{Method: config.AuthBasic, Username: "svc", Password: config.NewSecret("x", "test")}},
		Users: []check.User{{SMTP: "a@example.com"}}, Timeout: 5 * time.Second})
	c := result(t, rep, check.IDConnectivity)
	if c.Status != check.StatusFail || !strings.Contains(c.Summary, "TCP: cannot connect") {
		t.Errorf("connectivity = %s: %s", c.Status, c.Summary)
	}
	if a := result(t, rep, check.IDImpersonation); a.Status != check.StatusSkip {
		t.Errorf("impersonation = %s, want skipped", a.Status)
	}
}
