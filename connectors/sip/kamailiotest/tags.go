package kamailiotest

import (
	"context"
	"strings"
	"testing"

	"github.com/calsync/calsync/connectors/sip/kamailio"
)

// TagsSaved reports whether, for each presentity ("sip:user@domain"), the
// server keeps exactly one publication and stored holds its entity tag.
// stored is what calsync saved, by presentity (sip.StoredTags of the
// shared store): a cluster's next owner of a user continues the
// publication with that tag, so a missing or stale one means a second
// publication beside the first.
func TagsSaved(ctx context.Context, t testing.TB, srv *kamailio.Server, stored map[string]string, presentities []string) bool {
	t.Helper()
	server, err := srv.Tags(ctx)
	if err != nil {
		t.Fatalf("the server's entity tags: %v", err)
	}
	for _, p := range presentities {
		if tags := server[strings.TrimPrefix(p, "sip:")]; len(tags) != 1 || stored[p] != tags[0] {
			return false
		}
	}
	return true
}
