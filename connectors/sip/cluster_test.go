package sip

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/internal/testenv"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/store/memstore"
)

// sharedDocs is a store whose documents instances share entry by entry,
// as pgstore's (MergeDocumentEntries, tested against PostgreSQL there).
type sharedDocs struct {
	*memstore.Store
	mu sync.Mutex
}

func (s *sharedDocs) MergeDocumentEntries(ctx context.Context, name string, set map[string]json.RawMessage, remove []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]json.RawMessage{}
	doc, err := s.LoadDocument(ctx, name)
	switch {
	case err == nil:
		if err := json.Unmarshal(doc, &m); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	maps.Copy(m, set)
	for _, k := range remove {
		delete(m, k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.SaveDocument(ctx, name, b)
}

// owners says which of two instances owns each user.
type owners struct {
	mu sync.Mutex
	of map[string]string
}

func (o *owners) set(user, instance string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.of[user] = instance
}

func (o *owners) check(instance string) func(string) bool {
	return func(user string) bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.of[user] == instance
	}
}

// clusterPair starts two connectors of one cluster on the rig's server,
// sharing a store.
func (r *rig) clusterPair(t *testing.T, own *owners) (a, b *Connector) {
	t.Helper()
	docs := &sharedDocs{Store: memstore.New()}
	for i, c := range []**Connector{&a, &b} {
		opts := r.options()
		opts.Documents, opts.Owns = docs, own.check([]string{"a", "b"}[i])
		*c, _ = run(t, opts)
	}
	return a, b
}

// A user's mailbox moves to another instance: the new owner continues the
// previous owner's publication with its stored tag (a modify, not a second
// publication), the previous owner stops publishing the user and does not
// remove the publication.
func TestHandoverContinuesThePublication(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "dave")
	own := &owners{of: map[string]string{"dave@example.com": "a"}}
	a, b := r.clusterPair(t, own)
	ctx := t.Context()
	if err := a.Adopt(ctx, map[string]*connectors.State{"dave@example.com": ptr(busy("In a meeting"))}); err != nil {
		t.Fatal(err)
	}
	r.shows(t, "dave", "open", []string{"busy", "meeting"}, "In a meeting")
	b.Runner().Set("dave@example.com", busy("not b's user")) // b does not own dave: ignored
	first := recorded(t, a, "dave@example.com")

	own.set("dave@example.com", "b")
	if err := a.Release(ctx, []string{"dave@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Adopt(ctx, map[string]*connectors.State{"dave@example.com": ptr(busy("In a meeting"))}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "b's publication of dave", func() bool {
		p, ok := b.pubs.get("dave@example.com")
		return ok && p.ETag != first.ETag
	})
	r.publications(t, "dave", 1)                                                        // modified, not added
	a.Runner().Set("dave@example.com", connectors.State{Availability: "out_of_office"}) // no longer a's
	b.Runner().Set("dave@example.com", connectors.State{Availability: "tentative", StatusText: "Tentative"})
	r.shows(t, "dave", "open", []string{"appointment"}, "Tentative")
	r.publications(t, "dave", 1)
	if st := a.Status(); st.Users != 0 || st.Live != 0 {
		t.Errorf("the previous owner's status %+v, want no users", st)
	}
}

// An instance whose lease ran out (it was paused) does not publish the
// user it still has on paper: the new owner carries the publication.
func TestStaleOwnerDoesNotPublish(t *testing.T) {
	r := newRig(t)
	r.subscribe(t, "erin")
	own := &owners{of: map[string]string{"erin@example.com": "b"}}
	a, _ := r.clusterPair(t, own)
	if err := a.Adopt(t.Context(), map[string]*connectors.State{"erin@example.com": ptr(busy("Busy"))}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the refused update", func() bool { return a.Status().LastError == errNotOwner.Error() })
	r.publications(t, "erin", 0)
}

func ptr[T any](v T) *T { return &v }
