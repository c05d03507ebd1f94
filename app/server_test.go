package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calsync/calsync/config"
)

// The app serves through api.NewServer: its limits hold for `calsync run`
// and `calsync demo` (api/limits_test.go tests each limit).
func TestAPIServerRefusesHugeHeaders(t *testing.T) {
	_, _, a := startApp(t, config.Streaming, 1)
	req, _ := http.NewRequest(http.MethodGet, a.URL()+"healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 900<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("900 KB of headers = %d, want 431", resp.StatusCode)
	}
}
