package clusterchaos

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/internal/clusterrig"
	"github.com/calsync/calsync/store/pgstore"
)

// divergent compares every mailbox's stored occurrences (in PostgreSQL,
// over the window its checkpoint covers) with the simulator's ground
// truth over that window, as engine/ewsexchange's chaos test does, and
// returns the mailboxes that differ.
func divergent(ctx context.Context, st *pgstore.Store, sim clusterrig.SimAccess, users []string) ([]string, error) {
	var out []string
	for _, u := range users {
		rec, err := st.Mailbox(ctx, u)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: no record: %v", u, err))
			continue
		}
		w := rec.Checkpoint.Window
		var truth []ewssim.OccurrenceJSON
		q := url.Values{"start": {w.Start.UTC().Format(time.RFC3339)}, "end": {w.End.UTC().Format(time.RFC3339)}}
		if err := sim.Control(ctx, "GET", "mailboxes/"+url.PathEscape(u)+"/occurrences?"+q.Encode(), nil, &truth); err != nil {
			return nil, err
		}
		var want []string
		for _, o := range truth {
			if !o.End.After(w.Start) && o.Start.Before(w.Start) {
				// In Exchange's CalendarView (ends exactly at its start),
				// but no time of the window: calsync's store leaves it out.
				continue
			}
			want = append(want, view(o.ItemID, o.ChangeKey, o.Subject, o.Location, o.Start, o.End, o.AllDay, o.Cancelled, orDefault(o.FreeBusy, string(calendar.Busy))))
		}
		stored, err := st.Occurrences(ctx, u, w.Start, w.End)
		if err != nil {
			return nil, err
		}
		var got []string
		for _, o := range stored {
			got = append(got, view(o.ItemID, o.ChangeKey, o.Subject, o.Location, o.Start, o.End, o.AllDay, o.Cancelled, string(o.FreeBusy)))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			out = append(out, fmt.Sprintf("%s: stored %d occurrences, truth %d; first difference: %s", u, len(got), len(want), firstDiff(got, want)))
		}
	}
	return out, nil
}

func view(id, changeKey, subject, location string, start, end time.Time, allDay, cancelled bool, freeBusy string) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%v|%v|%s", id, changeKey, subject, location,
		start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), allDay, cancelled, freeBusy)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("stored %q, truth %q", g, w)
		}
	}
	return "none"
}
