// Package simapi holds the JSON conventions of the simulators' /sim/v1/
// control API, shared by the EWS simulator (ews/ewsserver/ewssim) and the
// routes the hybrid simulator adds (graph/graphserver/hybrid): bodies of at
// most 1 MiB without unknown fields, indented answers, and errors as
// {"error": "…"} without the model's package prefix.
package simapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxBody bounds a control request's body.
const maxBody = 1 << 20

// ReadJSON decodes the request body into v; on failure it answers 400 and
// reports false.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteProblem(w, http.StatusBadRequest, fmt.Sprintf("invalid JSON body: %v", err))
		return false
	}
	return true
}

// WriteJSON answers status with v as indented JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// WriteProblem answers status with {"error": detail}, detail without the
// simulator packages' prefixes ("ewsmem: ", "ewssim: ").
func WriteProblem(w http.ResponseWriter, status int, detail string) {
	WriteJSON(w, status, map[string]string{"error": strings.TrimPrefix(strings.TrimPrefix(detail, "ewsmem: "), "ewssim: ")})
}
