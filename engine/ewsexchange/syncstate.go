package ewsexchange

import (
	"context"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

var _ engine.CalendarSyncer = (*Client)(nil)

// maxSyncPages bounds a first SyncFolderItems walk (512 ids a page): a
// calendar of more than 10,240 items is not tracked by a sync state.
const maxSyncPages = 20

// CalendarSyncState implements engine.CalendarSyncer with SyncFolderItems
// on the mailbox's calendar, ids only. A first call (state "") pages
// through every item once; later ones answer "nothing changed" in one
// small response. Read-flag changes do not count: they change nothing a
// calendar shows.
func (x *Client) CalendarSyncState(ctx context.Context, t engine.Target, state string) (string, bool, error) {
	call := x.call(engine.Target{SMTP: t.SMTP, EWSURL: t.EWSURL})
	changed := state == ""
	for range maxSyncPages {
		page, err := x.c.SyncFolderItems(ctx, call, ewsclient.SyncFolderItemsRequest{SyncState: state})
		if err != nil {
			return "", false, classify("SyncFolderItems", err)
		}
		for _, ch := range page.Changes {
			if ch.Kind != ewsclient.ChangeReadFlagChange {
				changed = true
			}
		}
		state = page.SyncState
		if page.IncludesLastItemInRange {
			return state, changed, nil
		}
	}
	return "", true, nil
}

var _ engine.CalendarChangeReader = (*Client)(nil)

// CalendarChanges implements engine.CalendarChangeReader: SyncFolderItems
// from a stored state with the properties a CalendarView reads, so that
// changed single items need no CalendarView. A recurring master, a change
// that is not a calendar item or an answer of more than one page makes
// the answer incomplete (the engine reads the window); the rest of the
// pages are then walked ids only, as CalendarSyncState does.
func (x *Client) CalendarChanges(ctx context.Context, t engine.Target, state string) (engine.CalendarChanges, error) {
	call := x.call(engine.Target{SMTP: t.SMTP, EWSURL: t.EWSURL})
	page, err := x.c.SyncFolderItems(ctx, call, ewsclient.SyncFolderItemsRequest{SyncState: state, Properties: ewsclient.CalendarViewProperties})
	if err != nil {
		return engine.CalendarChanges{}, classify("SyncFolderItems", err)
	}
	out := engine.CalendarChanges{Next: page.SyncState, Complete: page.IncludesLastItemInRange}
	for _, ch := range page.Changes {
		switch ch.Kind {
		case ewsclient.ChangeReadFlagChange:
			continue
		case ewsclient.ChangeDelete:
			out.Deleted = append(out.Deleted, ch.ItemId.Id)
		default:
			it, ok := singleItem(ch)
			if !ok {
				out.Complete = false
				break
			}
			out.Items = append(out.Items, it)
		}
		out.Changed = true
	}
	if !page.IncludesLastItemInRange {
		next, _, err := x.CalendarSyncState(ctx, t, page.SyncState)
		if err != nil {
			return engine.CalendarChanges{}, err
		}
		out.Next, out.Changed = next, true
	}
	return out, nil
}

// singleItem converts a created or updated single calendar item; false
// for anything else (a recurring master, another item class).
func singleItem(ch ewsclient.SyncChange) (engine.ChangedItem, bool) {
	if ch.Item == nil || ch.Item.CalendarItemType != ews.ItemTypeSingle {
		return engine.ChangedItem{}, false
	}
	o, err := Occurrence(ch.Item)
	if err != nil {
		return engine.ChangedItem{}, false
	}
	return engine.ChangedItem{Occurrence: o, Start: ch.Item.Start.UTC(), End: ch.Item.End.UTC(), Created: ch.Kind == ewsclient.ChangeCreate}, true
}
