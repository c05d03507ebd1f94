package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExchangeOnlineSettings(t *testing.T) {
	t.Setenv("CALSYNC_TEST_GRAPH_SECRET", "graph-secret-value")
	cfg, err := Load([]byte(`
exchange_online:
  tenant_id: contoso.onmicrosoft.com
  client_id: 11111111-2222-3333-4444-555555555555
  client_secret_env: CALSYNC_TEST_GRAPH_SECRET
  graph_url: https://graph.example.com/v1.0/
  notifications: {mode: delta, delta_interval: 1m}
users: {static: [a@example.com]}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	x := cfg.ExchangeOnline
	if x == nil {
		t.Fatal("exchange_online not set")
	}
	if x.TenantID != "contoso.onmicrosoft.com" || x.ClientID != "11111111-2222-3333-4444-555555555555" || x.ClientSecret.Value() != "graph-secret-value" ||
		x.GraphURL != "https://graph.example.com/v1.0" || x.LoginURL != DefaultLoginURL || x.Notifications.DeltaInterval != time.Minute {
		t.Errorf("exchange_online = %+v", x)
	}

	dir := t.TempDir()
	for _, f := range []string{"app.crt", "app.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err = Load([]byte(`
exchange_online: {tenant_id: t, client_id: c, certificate_file: app.crt, key_file: app.key}
users: {static: [a@example.com]}
`), filepath.Join(dir, "c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if x := cfg.ExchangeOnline; x.CertificateFile != filepath.Join(dir, "app.crt") || x.KeyFile != filepath.Join(dir, "app.key") ||
		x.GraphURL != DefaultGraphURL || x.Notifications.Mode != "delta" || x.Notifications.DeltaInterval != DefaultDeltaInterval {
		t.Errorf("certificate config = %+v", x)
	}
}

func TestHybridConfigHasBothSides(t *testing.T) {
	setTestSecrets(t)
	cfg, err := Load([]byte(`
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
exchange_online: {tenant_id: t, client_id: c, client_secret_env: CALSYNC_TEST_EWS_PASSWORD}
users: {static: [a@example.com]}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Exchange.EWSURL == "" || cfg.ExchangeOnline == nil {
		t.Errorf("hybrid config lost a side: ews_url %q, exchange_online %v", cfg.Exchange.EWSURL, cfg.ExchangeOnline)
	}
}

func TestExchangeOnlineWebhook(t *testing.T) {
	setTestSecrets(t)
	cfg, err := Load([]byte(`
exchange_online:
  tenant_id: t
  client_id: c
  client_secret_env: CALSYNC_TEST_EWS_PASSWORD
  notifications: {mode: webhook, public_url: "https://calsync.example.com/"}
users: {static: [a@example.com]}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.ExchangeOnline.Notifications; n.Mode != "webhook" || n.PublicURL != "https://calsync.example.com" {
		t.Errorf("notifications = %+v", n)
	}
	_, problems, _ := newDecoder("c.yaml").load([]byte("exchange_online: {tenant_id: t, client_id: c, client_secret_env: CALSYNC_TEST_EWS_PASSWORD, notifications: {mode: webhook}}\nusers: {static: [a@example.com]}\n"))
	if len(problems) != 1 || !strings.Contains(problems[0].String(), "public_url: missing; mode \"webhook\" needs the public HTTPS URL") {
		t.Errorf("webhook without public_url: %v", problems)
	}
}

func TestExchangeOnlineProblems(t *testing.T) {
	setTestSecrets(t)
	const users = "users: {static: [a@example.com]}\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"nothing set", `exchange_online: {notifications: {mode: webhook, public_url: "ftp://x", delta_interval: 1s}}
`, []string{
			`c.yaml:1:1: exchange_online.tenant_id: missing; expected the tenant id of the app registration in Entra ID`,
			`c.yaml:1:1: exchange_online.client_id: missing; expected the client id of the app registration in Entra ID`,
			`c.yaml:1:1: exchange_online.client_secret: missing (needed to obtain app-only tokens, unless certificate_file and key_file are set); set client_secret_env (an environment variable) or client_secret_file (a file)`,
			`c.yaml:1:62: exchange_online.notifications.public_url: scheme "ftp" is not supported; expected "https" or "http"`,
			`c.yaml:1:89: exchange_online.notifications.delta_interval: 1s is out of range; expected from 5s to 1h`,
		}},
		{"secret and certificate", `exchange_online: {tenant_id: t, client_id: c, client_secret_env: CALSYNC_TEST_EWS_PASSWORD, key_file: k.pem, graph_url: "ftp://x"}
`, []string{
			`c.yaml:1:1: exchange_online: set either a client secret (client_secret_env or client_secret_file) or certificate_file with key_file, not both`,
			`c.yaml:1:121: exchange_online.graph_url: scheme "ftp" is not supported; expected "https" or "http"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems, _ := newDecoder("c.yaml").load([]byte(tc.yaml + users))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
