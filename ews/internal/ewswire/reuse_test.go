package ewswire_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// decodeConcurrently decodes the answers again from 8 goroutines, 50
// times each, with a decoder whose buffers are recycled: every decoding
// must equal want (its first), and the values decoded first must not
// change meanwhile (run with -race).
func decodeConcurrently[T any](t *testing.T, answers [][]byte, want []T, decode func([]byte) (T, error)) {
	t.Helper()
	kept := snapshot(t, want)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				i := (g + n) % len(answers)
				got, err := decode(answers[i])
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					errs <- fmt.Errorf("answer %d decoded differently on reuse (%w)", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if now := snapshot(t, want); now != kept {
		t.Fatal("answers decoded earlier changed while the decoder was reused")
	}
}

// snapshot renders the values behind want's pointers (fmt's %+v would
// print the pointers, which never change).
func snapshot(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("snapshot of the decoded answers: %v", err)
	}
	return string(b)
}
