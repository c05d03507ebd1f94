package app_test

import (
	"strings"
	"testing"

	"github.com/calsync/calsync/api/apiclient"
)

// nextWith reads stream until a presence.changed event whose data contains
// text, failing when the stream ends (its context's deadline) first.
func nextWith(t *testing.T, stream *apiclient.EventStream, text string) apiclient.Event {
	t.Helper()
	for {
		ev, err := stream.Next()
		if err != nil {
			t.Fatalf("waiting for a presence event with %q: %v", text, err)
		}
		if ev.Type == "presence.changed" && strings.Contains(ev.Data, text) {
			return ev
		}
	}
}
