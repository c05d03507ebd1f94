package graphserver

import (
	"net/http"
	"strconv"
	"strings"
)

// preferences are the Prefer header values Graph honours here.
type preferences struct {
	timeZone    string // outlook.timezone
	maxPageSize int    // odata.maxpagesize, 0 = none
}

// parsePrefer reads every Prefer header (comma-separated preferences,
// values optionally quoted).
func parsePrefer(h http.Header) preferences {
	var p preferences
	for _, line := range h.Values("Prefer") {
		for _, part := range splitPrefer(line) {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			value = strings.Trim(strings.TrimSpace(value), `"`)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "outlook.timezone":
				p.timeZone = value
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(value); err == nil && n > 0 {
					p.maxPageSize = n
				}
			}
		}
	}
	return p
}

// splitPrefer splits at commas outside quotes (zone names have none, but
// a quoted value might).
func splitPrefer(s string) []string {
	var out []string
	quoted, start := false, 0
	for i, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// applyZone resolves the outlook.timezone preference and echoes it in
// Preference-Applied when honoured.
func applyZone(w http.ResponseWriter, p preferences) zone {
	z, ok := resolveZone(p.timeZone)
	if ok {
		w.Header().Add("Preference-Applied", `outlook.timezone="`+p.timeZone+`"`)
	}
	return z
}

// baseURL is the scheme and host the client used, for the links in
// answers.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
