package bench

import "testing"

// TestSampleLineKeepsLabelValuesWithSpaces: the cluster bench sums the
// instances' reads by reason from their /metrics; the reason "time zone"
// holds a space, and its sample must not be dropped.
func TestSampleLineKeepsLabelValuesWithSpaces(t *testing.T) {
	for _, tc := range []struct{ line, name, value string }{
		{`calsync_engine_calendar_view_requests_total{reason="time zone"} 3`, `calsync_engine_calendar_view_requests_total{reason="time zone"}`, "3"},
		{`calsync_engine_streaming_connections 12`, "calsync_engine_streaming_connections", "12"},
	} {
		name, value, ok := sampleLine(tc.line)
		if !ok || name != tc.name || value != tc.value {
			t.Errorf("sampleLine(%q) = %q, %q, %v; want %q, %q", tc.line, name, value, ok, tc.name, tc.value)
		}
	}
	if _, _, ok := sampleLine("# HELP calsync_engine_commits_total Window commits to the store."); ok {
		t.Error("a comment line read as a sample")
	}
}
