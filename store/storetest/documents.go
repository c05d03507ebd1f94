package storetest

import (
	"testing"

	"github.com/calsync/calsync/store"
)

// testDocuments: a named document reads back as saved, is replaced by a
// later save, and an unknown name is ErrNotFound.
func testDocuments(t *testing.T, st store.Store) {
	_, err := st.LoadDocument(ctxT(t), "directory.last_good")
	wantErr(t, "LoadDocument before any save", err, store.ErrNotFound)
	if err := st.SaveDocument(ctxT(t), "", []byte(`{}`)); err == nil {
		t.Error("SaveDocument with an empty name succeeded")
	}
	must(t, st.SaveDocument(ctxT(t), "directory.last_good", []byte(`{"v":1}`)), "SaveDocument")
	must(t, st.SaveDocument(ctxT(t), "other", []byte(`{"o":1}`)), "SaveDocument other")
	must(t, st.SaveDocument(ctxT(t), "directory.last_good", []byte(`{"v":2}`)), "SaveDocument replace")
	doc, err := st.LoadDocument(ctxT(t), "directory.last_good")
	must(t, err, "LoadDocument")
	if string(doc) != `{"v":2}` {
		t.Errorf("document = %s, want the later save", doc)
	}
	doc[0] = 'x' // the caller's copy
	if again, _ := st.LoadDocument(ctxT(t), "directory.last_good"); string(again) != `{"v":2}` {
		t.Errorf("document after mutating the returned slice = %s", again)
	}
	if other, err := st.LoadDocument(ctxT(t), "other"); err != nil || string(other) != `{"o":1}` {
		t.Errorf("other document = %s (%v)", other, err)
	}
}
