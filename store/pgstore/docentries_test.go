package pgstore_test

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Two writers keep their own entries of one document: neither overwrites
// the other's, a removal deletes only its key.
func TestMergeDocumentEntries(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	ctx := t.Context()
	const name = "connectors/sip/sip/07"
	if err := s.MergeDocumentEntries(ctx, name, map[string]json.RawMessage{"a@x": json.RawMessage(`{"etag":"1"}`), "b@x": json.RawMessage(`{"etag":"2"}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.MergeDocumentEntries(ctx, name, map[string]json.RawMessage{"c@x": json.RawMessage(`{"etag":"3"}`), "a@x": json.RawMessage(`{"etag":"4"}`)}, []string{"b@x"}); err != nil {
		t.Fatal(err)
	}
	doc, err := s.LoadDocument(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]string
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatalf("stored %q: %v", doc, err)
	}
	want := map[string]map[string]string{"a@x": {"etag": "4"}, "c@x": {"etag": "3"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("document = %v, want %v", got, want)
	}
	// A document written whole before (SaveDocument) is merged into too.
	if err := s.SaveDocument(ctx, "whole", []byte(`{"z@x":{"etag":"9"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.MergeDocumentEntries(ctx, "whole", map[string]json.RawMessage{"y@x": json.RawMessage(`{}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if doc, _ := s.LoadDocument(ctx, "whole"); len(doc) == 0 || !json.Valid(doc) {
		t.Fatalf("merged document %q", doc)
	}
	if err := s.MergeDocumentEntries(ctx, "", nil, nil); err == nil {
		t.Fatal("a document without name was accepted")
	}
}
