package ewsclient

import (
	"context"
	"sync"

	"github.com/calsync/calsync/ews"
)

// CalendarViewFunc runs CalendarView and hands the page to fn, for a
// caller that converts the items at once (the engine does, into its own
// occurrences): the page's Items are decoded into a slice the client
// reuses for later calls once fn returns, which saves allocating them —
// about 650 bytes per item, the largest allocation of a first load. fn
// must not keep the slice or pointers into it; the items' strings and
// their own slices (categories, attendees, the organizer's fields) belong
// to this answer alone and may be kept. fn is not called when the call
// fails.
func (c *Client) CalendarViewFunc(ctx context.Context, call Call, req CalendarViewRequest, fn func(*CalendarViewPage) error) error {
	bp := itemBuffers.Get().(*[]ews.CalendarItem)
	page, err := c.calendarView(ctx, call, req, *bp)
	if err != nil {
		// The token decoder may have filled part of the buffer before
		// it declined the answer.
		putItems(bp, (*bp)[:cap(*bp)])
		return err
	}
	err = fn(page)
	// The page's slice is the buffer, or a larger one when the answer did
	// not fit (kept instead, up to maxKeptItems).
	putItems(bp, page.Items)
	page.Items = nil
	return err
}

// itemBuffers recycle CalendarViewFunc's item slices.
var itemBuffers = sync.Pool{New: func() any { return new([]ews.CalendarItem) }}

// maxKeptItems bounds a recycled slice (about 170 KB): a rare larger view
// is not kept.
const maxKeptItems = 256

// putItems clears used (nothing of an answer stays reachable from the
// pool) and recycles it through bp.
func putItems(bp *[]ews.CalendarItem, used []ews.CalendarItem) {
	clear(used)
	if cap(used) > maxKeptItems {
		used = nil
	}
	*bp = used[:0]
	itemBuffers.Put(bp)
}
