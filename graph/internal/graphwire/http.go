package graphwire

import "strconv"

// Header names and values with a meaning in Graph.
const (
	// ContentType is what Graph answers JSON with.
	ContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
	// HeaderPrefer carries outlook.timezone, odata.maxpagesize and
	// IdType preferences; Graph echoes applied ones in HeaderPreferenceApplied.
	HeaderPrefer            = "Prefer"
	HeaderPreferenceApplied = "Preference-Applied"
	HeaderRetryAfter        = "Retry-After"
	HeaderRequestID         = "request-id"
	HeaderClientRequestID   = "client-request-id"
)

// PreferTimeZone returns the Prefer value asking for start/end in zone.
func PreferTimeZone(zone string) string { return `outlook.timezone="` + zone + `"` }

// PreferMaxPageSize returns the Prefer value for delta page sizes.
func PreferMaxPageSize(n int) string { return "odata.maxpagesize=" + strconv.Itoa(n) }

// PreferTrackChanges is the Preference-Applied value of delta answers.
const PreferTrackChanges = "odata.track-changes"
