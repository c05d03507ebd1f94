package api

import (
	"testing"
	"time"
)

func TestHumanSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		62 * 24 * time.Hour: "62 days",
		24 * time.Hour:      "1 day",
		36 * time.Hour:      "36h0m0s",
		90 * time.Minute:    "1h30m0s",
	} {
		if got := humanSpan(d); got != want {
			t.Errorf("humanSpan(%v) = %q, want %q", d, got, want)
		}
	}
}
