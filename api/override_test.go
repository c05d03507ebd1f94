package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/api"
)

// Every bound of an override answers 400 and names the field.
func TestOverrideInputBounds(t *testing.T) {
	e := newEnv(t, envConfig{})
	at := func(d time.Duration) string { return `"` + t0.Add(d).Format(time.RFC3339) + `"` }
	tests := []struct {
		name, body, field, code string
	}{
		{"status text too long", `{"availability":"busy","status_text":"` + strings.Repeat("x", 257) + `"}`, "status_text", "bad_request"},
		{"status text with a newline", `{"availability":"busy","status_text":"a\nb"}`, "status_text", "bad_request"},
		{"status text template", `{"availability":"busy","status_text":"until {{"}`, "status_text", "bad_request"},
		{"profile too long", `{"availability":"busy","profile":"` + strings.Repeat("p", 65) + `"}`, "profile", "bad_request"},
		{"until more than a year ahead", `{"availability":"busy","until":` + at(367*24*time.Hour) + `}`, "until", "invalid_range"},
		{"until in the past", `{"availability":"busy","until":` + at(-time.Minute) + `}`, "until", "invalid_range"},
		{"forward_to javascript", `{"availability":"busy","forward_to":"javascript:alert(1)"}`, "forward_to", "bad_request"},
		{"forward_to web address", `{"availability":"busy","forward_to":"https://evil.example.com"}`, "forward_to", "bad_request"},
		{"forward_to with a display name", `{"availability":"busy","forward_to":"Bob <bob@example.com>"}`, "forward_to", "bad_request"},
		{"availability", `{"availability":"sleeping"}`, "availability", "bad_request"},
		// Values JSON cannot decode name the field too, in the API's terms.
		{"availability a number", `{"availability":5}`, "availability", "bad_request"},
		{"until not a time", `{"availability":"busy","until":"tomorrow"}`, "until", "bad_request"},
		{"until a number", `{"availability":"busy","until":5}`, "until", "bad_request"},
		{"unknown field", `{"availability":"busy","statustext":"x"}`, "statustext", "bad_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := e.do(t, "PUT", "/api/v1/users/bob@example.com/override", tc.body)
			var body api.ErrorBody
			_ = json.Unmarshal(data, &body)
			if resp.StatusCode != http.StatusBadRequest || body.Error.Field != tc.field || body.Error.Code != tc.code ||
				!strings.HasPrefix(body.Error.Message, tc.field+": ") {
				t.Errorf("= %d %s, want 400 %s naming the field %s", resp.StatusCode, data, tc.code, tc.field)
			}
			if strings.Contains(body.Error.Message, "Go ") || strings.Contains(body.Error.Message, "OverrideRequest") ||
				strings.Contains(body.Error.Message, "2006-01-02") || strings.Contains(body.Error.Message, "UnmarshalJSON") {
				t.Errorf("message names Go internals: %q", body.Error.Message)
			}
			if strings.Count(body.Error.Message, "status_text") > 1 {
				t.Errorf("message repeats the field: %q", body.Error.Message)
			}
		})
	}
	for _, ok := range []string{
		`{"availability":"busy","status_text":"` + strings.Repeat("é", 256) + `","until":` + at(365*24*time.Hour) + `}`,
		`{"availability":"busy","forward_to":"+49 30 1234-0"}`,
		`{"availability":"busy","forward_to":"sip:bob@pbx.example.com"}`,
		`{"availability":"busy","forward_to":"bob@example.com"}`,
	} {
		if resp, data := e.do(t, "PUT", "/api/v1/users/bob@example.com/override", ok); resp.StatusCode != http.StatusOK {
			t.Errorf("PUT override %s = %d %s, want 200", ok, resp.StatusCode, data)
		}
	}
}
