package graphconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calsync/calsync/config"
)

func TestNewClient(t *testing.T) {
	x := &config.ExchangeOnline{TenantID: "t", ClientID: "c", ClientSecret: config.NewSecret("s", "test"),
		GraphURL: config.DefaultGraphURL, LoginURL: config.DefaultLoginURL}
	c, err := NewClient(x, Options{})
	if err != nil || c.GraphURL() != config.DefaultGraphURL {
		t.Fatalf("secret: %v", err)
	}
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	x = &config.ExchangeOnline{TenantID: "t", ClientID: "c", CertificateFile: junk, KeyFile: filepath.Join(dir, "missing.key")}
	if _, err := NewClient(x, Options{}); err == nil || !strings.Contains(err.Error(), "key_file") {
		t.Errorf("missing key file: %v", err)
	}
	x.KeyFile = junk
	if _, err := NewClient(x, Options{}); err == nil || !strings.Contains(err.Error(), "certificate_file "+junk) {
		t.Errorf("junk certificate: %v", err)
	}
	if _, err := NewClient(nil, Options{}); err == nil {
		t.Error("nil section accepted")
	}
}
