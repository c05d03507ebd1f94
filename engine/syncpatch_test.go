package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
)

// TestApplyChanges is the rule table of syncpatch.go: single items are
// applied to the stored window; whatever could involve a recurring series
// is read instead.
func TestApplyChanges(t *testing.T) {
	day := time.Now().UTC().Truncate(24 * time.Hour)
	win := calendar.Window{Start: day, End: day.Add(48 * time.Hour)}
	at := func(id, key string, h int) ChangedItem {
		o := occKey(id, key, id, 0)
		o.Start, o.End = day.Add(time.Duration(h)*time.Hour), day.Add(time.Duration(h)*time.Hour+30*time.Minute)
		return ChangedItem{Occurrence: o, Start: o.Start, End: o.End}
	}
	created := func(c ChangedItem) ChangedItem { c.Created = true; return c }
	a1, b1 := at("a1", "k1", 9).Occurrence, at("b1", "k1", 10).Occurrence
	occurrence := calendar.Occurrence{ItemID: "o1", ChangeKey: "k1", Kind: calendar.KindOccurrence, Start: day.Add(11 * time.Hour), End: day.Add(12 * time.Hour)}
	singles := []calendar.Occurrence{a1, b1}
	withSeries := []calendar.Occurrence{a1, b1, occurrence}
	cases := []struct {
		name    string
		stored  []calendar.Occurrence
		changes CalendarChanges
		want    []string // ids with change keys, sorted; nil: not applied
	}{
		{"created in the window", singles, CalendarChanges{Complete: true, Items: []ChangedItem{created(at("c1", "k1", 12))}}, []string{"a1/k1", "b1/k1", "c1/k1"}},
		{"created outside the window", singles, CalendarChanges{Complete: true, Items: []ChangedItem{created(at("c1", "k1", 72))}}, []string{"a1/k1", "b1/k1"}},
		{"updated in place", singles, CalendarChanges{Complete: true, Items: []ChangedItem{at("a1", "k2", 13)}}, []string{"a1/k2", "b1/k1"}},
		{"moved out of the window", singles, CalendarChanges{Complete: true, Items: []ChangedItem{at("a1", "k2", -30)}}, []string{"b1/k1"}},
		{"deleted", singles, CalendarChanges{Complete: true, Deleted: []string{"b1"}}, []string{"a1/k1"}},
		{"deleted, never stored", singles, CalendarChanges{Complete: true, Deleted: []string{"z9"}}, []string{"a1/k1", "b1/k1"}},
		{"created beside a series", withSeries, CalendarChanges{Complete: true, Items: []ChangedItem{created(at("c1", "k1", 12))}}, []string{"a1/k1", "b1/k1", "c1/k1", "o1/k1"}},
		{"a stored single updated beside a series", withSeries, CalendarChanges{Complete: true, Items: []ChangedItem{at("a1", "k2", 9)}}, []string{"a1/k2", "b1/k1", "o1/k1"}},
		{"an unknown item updated beside a series (a former master?)", withSeries, CalendarChanges{Complete: true, Items: []ChangedItem{at("m1", "k2", 9)}}, nil},
		{"an unknown item deleted beside a series (a master?)", withSeries, CalendarChanges{Complete: true, Deleted: []string{"m1"}}, nil},
		{"incomplete (a master changed)", singles, CalendarChanges{Complete: false}, nil},
	}
	for _, c := range cases {
		got, ok := applyChanges(slices.Clone(c.stored), &c.changes, win)
		if !c.changes.Complete {
			// patchWindow refuses before applyChanges; the table says so.
			ok, got = false, nil
		}
		if (c.want == nil) != !ok {
			t.Errorf("%s: applied = %v, want %v", c.name, ok, c.want != nil)
			continue
		}
		var ids []string
		for _, o := range got {
			ids = append(ids, o.ItemID+"/"+o.ChangeKey)
		}
		slices.Sort(ids)
		if ok && !slices.Equal(ids, c.want) {
			t.Errorf("%s: window = %v, want %v", c.name, ids, c.want)
		}
	}
}
