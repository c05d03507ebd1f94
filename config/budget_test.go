package config

import (
	"fmt"
	"strings"
	"testing"
)

// budget.requests_per_second: adaptive by default and when said so; a
// number selects the fixed pace; anything else is refused with the choices.
func TestBudgetRequestsPerSecond(t *testing.T) {
	setTestSecrets(t)
	base := "exchange:\n  ews_url: https://mail.example.com/EWS/Exchange.asmx\n  auth:\n    username: svc\n    password_env: CALSYNC_TEST_EWS_PASSWORD\nbudget:\n  requests_per_second: %s\nusers:\n  static: [alice@example.com]\n"
	for _, tc := range []struct {
		value string
		want  float64
	}{{"adaptive", 0}, {"200", 200}, {"0.5", 0.5}} {
		cfg, err := Load([]byte(fmt.Sprintf(base, tc.value)), "inline.yaml")
		if err != nil {
			t.Fatalf("requests_per_second: %s: %v", tc.value, err)
		}
		if got := cfg.Budget.RequestsPerSecond; got != tc.want {
			t.Errorf("requests_per_second: %s loaded as %g, want %g", tc.value, got, tc.want)
		}
	}
	if got := Defaults().Budget.RequestsPerSecond; got != 0 {
		t.Errorf("default requests_per_second = %g, want 0 (adaptive)", got)
	}
	for _, bad := range []string{"fast", "0", "\"adaptive \""} {
		_, err := Load([]byte(fmt.Sprintf(base, bad)), "inline.yaml")
		if err == nil || !strings.Contains(err.Error(), "budget.requests_per_second") || !strings.Contains(err.Error(), "adaptive") {
			t.Errorf("requests_per_second: %s: error = %v, want one naming the key and the choice adaptive", bad, err)
		}
	}
}
