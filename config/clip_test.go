package config

import (
	"strings"
	"testing"
)

// A huge wrong value is quoted back cut short, not whole.
func TestHugeBadValuesAreCutInProblems(t *testing.T) {
	setTestSecrets(t)
	huge := strings.Repeat("x", 200<<10)
	yaml := `
exchange:
  ews_url: "https://x.example.com/` + huge + `%zz"
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
  server_version: "` + huge + `"
  notifications: {mode: "` + huge + `"}
users: {static: [a@example.com]}
webhooks:
  - {name: "` + huge + `", url: "ftp://` + huge + `", secret_env: CALSYNC_TEST_WEBHOOK_SECRET, events: ["` + huge + `"]}
`
	_, problems, _ := newDecoder("c.yaml").load([]byte(yaml))
	if len(problems) < 4 {
		t.Fatalf("problems = %v, want one per bad value", problems)
	}
	for _, p := range problems {
		if msg := p.String(); len(msg) > 1000 {
			t.Errorf("a problem of %d bytes: %.300s…", len(msg), msg)
		}
	}
}

// Webhook signing keys are held to the length of API tokens; the message
// names where the key came from, never the key.
func TestShortWebhookSecret(t *testing.T) {
	setTestSecrets(t)
	t.Setenv("CALSYNC_TEST_SHORT_WEBHOOK_SECRET", "hunter2")
	_, problems, _ := newDecoder("c.yaml").load([]byte(`
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
users: {static: [a@example.com]}
webhooks:
  - {name: pbx, url: "https://pbx.example.com/hook", secret_env: CALSYNC_TEST_SHORT_WEBHOOK_SECRET}
`))
	want := `c.yaml:7:66: webhooks[0].secret_env: the key from environment variable CALSYNC_TEST_SHORT_WEBHOOK_SECRET is shorter than 16 characters; expected a long random key (e.g. openssl rand -hex 32)`
	if len(problems) != 1 || problems[0].String() != want {
		t.Errorf("problems = %v, want exactly\n%s", problems, want)
	}
	if strings.Contains(problems[0].String(), "hunter2") {
		t.Errorf("the problem reveals the secret")
	}
}
