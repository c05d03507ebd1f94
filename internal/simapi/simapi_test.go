package simapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadJSONRefusesUnknownFields(t *testing.T) {
	var in struct {
		To string `json:"to"`
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/sim/v1/x", strings.NewReader(`{"to":"cloud","phase":"5s"}`))
	if ReadJSON(w, r, &in) {
		t.Fatal("ReadJSON accepted an unknown field")
	}
	var out map[string]string
	if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &out) != nil || !strings.Contains(out["error"], `unknown field "phase"`) {
		t.Errorf("answer %d %q, want 400 naming the field", w.Code, w.Body.String())
	}
}

func TestWriteProblemDropsThePackagePrefix(t *testing.T) {
	w := httptest.NewRecorder()
	WriteProblem(w, http.StatusNotFound, "ewsmem: no such mailbox: a@example.com")
	var out map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out["error"] != "no such mailbox: a@example.com" || w.Code != http.StatusNotFound {
		t.Errorf("answer %d %q (%v)", w.Code, w.Body.String(), err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
