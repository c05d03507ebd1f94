package config

import (
	"strings"
	"testing"
)

// Tokens under tokens* keep their meaning (admin: read and write); tokens
// under read_tokens* may only read.
func TestReadTokens(t *testing.T) {
	t.Setenv("CALSYNC_TEST_ADMIN_TOKENS", "admin-token-0123456789")
	t.Setenv("CALSYNC_TEST_READ_TOKENS", "read-token-0123456789a, read-token-0123456789b")
	t.Setenv("CALSYNC_TEST_EWS_PASSWORD", "ews-password-value")
	cfg, err := Load([]byte(`
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
api: {listen: "127.0.0.1:8080", tokens_env: CALSYNC_TEST_ADMIN_TOKENS, read_tokens_env: CALSYNC_TEST_READ_TOKENS}
users: {static: [a@example.com]}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.API.Tokens) != 1 || cfg.API.Tokens[0].Value() != "admin-token-0123456789" {
		t.Errorf("admin tokens = %v", cfg.API.Tokens)
	}
	if len(cfg.API.ReadTokens) != 2 || cfg.API.ReadTokens[1].Value() != "read-token-0123456789b" {
		t.Errorf("read tokens = %v", cfg.API.ReadTokens)
	}

	// Read tokens alone satisfy "a network listener needs tokens".
	_, err = Load([]byte(`
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
api: {listen: "0.0.0.0:8080", read_tokens_env: CALSYNC_TEST_READ_TOKENS, tls_cert_file: c.yaml, tls_key_file: c.yaml}
users: {static: [a@example.com]}
`), "c.yaml")
	if err != nil && strings.Contains(err.Error(), "tokens are required") {
		t.Errorf("read tokens alone were not accepted as tokens: %v", err)
	}

	_, problems, _ := newDecoder("c.yaml").load([]byte(`
exchange:
  ews_url: https://x.example.com/EWS/Exchange.asmx
  auth: {username: u, password_env: CALSYNC_TEST_EWS_PASSWORD}
api: {read_tokens_env: CALSYNC_TEST_READ_TOKENS, read_tokens: [read-token-0123456789c]}
users: {static: [a@example.com]}
`))
	if len(problems) == 0 || !strings.Contains(problems[0].String(), `set only one of "read_tokens" or "read_tokens_env"`) {
		t.Errorf("two read token sources: %v, want one problem naming both", problems)
	}
}
