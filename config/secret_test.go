package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrintsItsValue(t *testing.T) {
	s := NewSecret("hunter2-value", "test")
	type holder struct {
		Password Secret
		Name     string
	}
	h := holder{Password: s, Name: "svc"}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := s.MarshalText()
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("login", "password", s, "holder", h)
	var textLog bytes.Buffer
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("login", "password", s)
	outputs := map[string]string{
		"%v":      fmt.Sprintf("%v", s),
		"%s":      fmt.Sprintf("%s", s),
		"%q":      fmt.Sprintf("%q", s),
		"%x":      fmt.Sprintf("%x", s),
		"%+v":     fmt.Sprintf("%+v", h),
		"%#v":     fmt.Sprintf("%#v", h),
		"String":  s.String(),
		"json":    string(js),
		"text":    string(text),
		"slog":    logBuf.String(),
		"slogtxt": textLog.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s reveals the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not show [redacted]: %s", name, out)
		}
	}
	if s.Value() != "hunter2-value" || !s.IsSet() {
		t.Errorf("Value() = %q", s.Value())
	}
	if (Secret{}).String() != "" || (Secret{}).IsSet() {
		t.Error("an unset secret should print empty and not be set")
	}
}

func TestConfigPrintedWithSecretsRedacted(t *testing.T) {
	setTestSecrets(t)
	cfg, err := LoadFile("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(cfg)
	all := fmt.Sprintf("%+v %v %s", cfg, cfg, js)
	for _, secret := range []string{"test-password-from-file", "ldap-password-value", "webhook-secret-value", "0123456789abcdef0123456789abcdef"} {
		if strings.Contains(all, secret) {
			t.Errorf("printed config reveals %q", secret)
		}
	}
}
