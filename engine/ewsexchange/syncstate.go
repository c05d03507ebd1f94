package ewsexchange

import (
	"context"

	"github.com/calsync/calsync/engine"
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
