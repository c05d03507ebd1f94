package ewswire_test

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// decodeInto decodes a FindItem answer through DecodeResponse with buffer
// as the response's ItemBuffer and returns its items.
func decodeInto(t *testing.T, data []byte, buffer []ews.CalendarItem) []ews.CalendarItem {
	t.Helper()
	resp := ewswire.FindItemResponse{ItemBuffer: buffer}
	if _, err := ewswire.DecodeResponse(bytes.NewReader(data), ewswire.DefaultLimits, &resp); err != nil {
		t.Fatal(err)
	}
	items, err := resp.ResponseMessages.Messages[0].RootFolder.Items.CalendarItems()
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// TestItemBufferHoldsTheItems: a CalendarView answer decoded with an item
// buffer large enough lands in that buffer, equal to the answer decoded
// without one, whatever the buffer held before; a buffer too small is left
// alone and the items get a slice of their own.
func TestItemBufferHoldsTheItems(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	items := make([]ews.CalendarItem, 12)
	for i := range items {
		items[i] = randomItem(rng, i)
	}
	answer := encodeFindItem(t, items, true)
	want := decodeInto(t, answer, nil)
	if len(want) != len(items) {
		t.Fatalf("%d items decoded, want %d", len(want), len(items))
	}

	// A buffer that held a longer earlier answer: its stale items beyond
	// this answer's must not show.
	stale := make([]ews.CalendarItem, 20, 32)
	for i := range stale {
		stale[i] = randomItem(rng, 100+i)
	}
	got := decodeInto(t, answer, stale[:0])
	if &got[0] != &stale[0] {
		t.Fatal("the items were not decoded into the buffer")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded into a used buffer:\n%+v\nwant\n%+v", got, want)
	}

	small := make([]ews.CalendarItem, 0, 3)
	got = decodeInto(t, answer, small)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded with a small buffer:\n%+v\nwant\n%+v", got, want)
	}
	if small[:cap(small)][0].ItemId.Id != "" {
		t.Fatal("an item was written into a buffer too small for the answer")
	}
}
