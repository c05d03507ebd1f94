package ewsclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// MaxCalendarViewEntries is the most entries calsync asks one CalendarView
// for (Exchange's EWSFindCountLimit is 1000).
const MaxCalendarViewEntries = 1000

// MaxCalendarViewRange is the longest window CalendarView accepts.
const MaxCalendarViewRange = 2 * 365 * 24 * time.Hour

// CalendarViewRequest expands a calendar over [Start, End).
type CalendarViewRequest struct {
	// Folder defaults to the impersonated user's calendar.
	Folder *ews.FolderRef
	Start  time.Time
	End    time.Time
	// MaxEntries must be 1..1000 (default 1000): CalendarView has no paging,
	// so a truncated page means "split the window".
	MaxEntries int
	// Properties defaults to CalendarViewProperties.
	Properties []string
}

// CalendarViewPage is the answer of one CalendarView.
type CalendarViewPage struct {
	Items                   []ews.CalendarItem
	TotalItemsInView        int
	IncludesLastItemInRange bool
}

// Truncated reports whether more occurrences exist than were returned: the
// caller must split the window.
func (p *CalendarViewPage) Truncated() bool {
	return !p.IncludesLastItemInRange || p.TotalItemsInView > len(p.Items)
}

// CalendarView runs FindItem with a CalendarView: singles, occurrences and
// exceptions overlapping the window.
func (c *Client) CalendarView(ctx context.Context, call Call, req CalendarViewRequest) (*CalendarViewPage, error) {
	return c.calendarView(ctx, call, req, nil)
}

// calendarView is CalendarView decoding the items into buffer when it is
// large enough (ewswire.FindItemResponse.ItemBuffer).
func (c *Client) calendarView(ctx context.Context, call Call, req CalendarViewRequest, buffer []ews.CalendarItem) (*CalendarViewPage, error) {
	const op = "FindItem"
	if req.Start.IsZero() || req.End.IsZero() || !req.End.After(req.Start) {
		return nil, fmt.Errorf("ewsclient: CalendarView: window [%s, %s) is empty or reversed", req.Start, req.End)
	}
	if req.End.Sub(req.Start) > MaxCalendarViewRange {
		return nil, fmt.Errorf("ewsclient: CalendarView: window longer than two years (Exchange answers ErrorCalendarViewRangeTooBig)")
	}
	maxEntries := req.MaxEntries
	if maxEntries == 0 {
		maxEntries = MaxCalendarViewEntries
	}
	if maxEntries < 1 || maxEntries > MaxCalendarViewEntries {
		return nil, fmt.Errorf("ewsclient: CalendarView: MaxEntries %d out of range 1..%d", maxEntries, MaxCalendarViewEntries)
	}
	folder := ews.CalendarFolder()
	if req.Folder != nil {
		folder = *req.Folder
	}
	ref, err := ewswire.FolderRefFrom(folder)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: CalendarView: %w", err)
	}
	paths := calendarViewPaths()
	if req.Properties != nil {
		paths = ewswire.Paths(req.Properties...)
	}
	w := &ewswire.FindItem{
		Traversal:       "Shallow",
		ItemShape:       ewswire.ItemShape{BaseShape: "IdOnly", AdditionalProperties: paths},
		CalendarView:    &ewswire.CalendarView{MaxEntriesReturned: maxEntries, StartDate: ewswire.DateTime{Time: req.Start.UTC()}, EndDate: ewswire.DateTime{Time: req.End.UTC()}},
		ParentFolderIds: ewswire.FolderIds{ref},
	}
	root, err := c.findItem(ctx, call, w, buffer)
	if err != nil {
		return nil, err
	}
	items, err := root.Items.CalendarItems()
	if err != nil {
		return nil, &ews.ProtocolError{Op: op, Err: err}
	}
	return &CalendarViewPage{Items: items, TotalItemsInView: root.TotalItemsInView, IncludesLastItemInRange: root.IncludesLastItemInRange}, nil
}

func (c *Client) findItem(ctx context.Context, call Call, w *ewswire.FindItem, buffer []ews.CalendarItem) (*ewswire.FindItemRootFolder, error) {
	const op = "FindItem"
	resp := ewswire.FindItemResponse{ItemBuffer: buffer}
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := single(op, len(msgs)); err != nil {
		return nil, err
	}
	if err := msgs[0].Err(op, -1); err != nil {
		return nil, err
	}
	if msgs[0].RootFolder == nil {
		return nil, &ews.ProtocolError{Op: op, Err: errors.New("response without RootFolder")}
	}
	return msgs[0].RootFolder, nil
}

// FindItemsRequest pages through a folder's items (masters and singles, not
// expanded occurrences) with an IndexedPageItemView.
type FindItemsRequest struct {
	// Folder defaults to the impersonated user's calendar.
	Folder *ews.FolderRef
	// Offset is the page start; MaxEntries the page size (1..1000, default
	// 500); FromEnd counts Offset from the end.
	Offset     int
	MaxEntries int
	FromEnd    bool
	// Properties defaults to CalendarViewProperties.
	Properties []string
}

// FindItemsPage is one page of FindItems.
type FindItemsPage struct {
	Items                   []ews.CalendarItem
	TotalItemsInView        int
	IncludesLastItemInRange bool
	// NextOffset is where the next page starts.
	NextOffset int
}

// FindItems runs FindItem with an IndexedPageItemView. Page until
// IncludesLastItemInRange: Exchange may return short pages.
func (c *Client) FindItems(ctx context.Context, call Call, req FindItemsRequest) (*FindItemsPage, error) {
	if req.Offset < 0 {
		return nil, fmt.Errorf("ewsclient: FindItems: negative offset %d", req.Offset)
	}
	maxEntries := req.MaxEntries
	if maxEntries == 0 {
		maxEntries = 500
	}
	if maxEntries < 1 || maxEntries > MaxCalendarViewEntries {
		return nil, fmt.Errorf("ewsclient: FindItems: MaxEntries %d out of range 1..%d", maxEntries, MaxCalendarViewEntries)
	}
	folder := ews.CalendarFolder()
	if req.Folder != nil {
		folder = *req.Folder
	}
	ref, err := ewswire.FolderRefFrom(folder)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: FindItems: %w", err)
	}
	props := req.Properties
	if props == nil {
		props = CalendarViewProperties
	}
	base := "Beginning"
	if req.FromEnd {
		base = "End"
	}
	w := &ewswire.FindItem{
		Traversal:           "Shallow",
		ItemShape:           ewswire.ItemShape{BaseShape: "IdOnly", AdditionalProperties: ewswire.Paths(props...)},
		IndexedPageItemView: &ewswire.IndexedPageItemView{MaxEntriesReturned: maxEntries, Offset: req.Offset, BasePoint: base},
		ParentFolderIds:     ewswire.FolderIds{ref},
	}
	root, err := c.findItem(ctx, call, w, nil)
	if err != nil {
		return nil, err
	}
	items, err := root.Items.CalendarItems()
	if err != nil {
		return nil, &ews.ProtocolError{Op: "FindItem", Err: err}
	}
	page := &FindItemsPage{Items: items, TotalItemsInView: root.TotalItemsInView, IncludesLastItemInRange: root.IncludesLastItemInRange,
		NextOffset: req.Offset + root.Items.Len()}
	if root.IndexedPagingOffset != nil {
		page.NextOffset = *root.IndexedPagingOffset
	}
	return page, nil
}

// AllItems pages FindItems from req.Offset until the last item, bounded by
// maxPages, and returns every item.
func (c *Client) AllItems(ctx context.Context, call Call, req FindItemsRequest, maxPages int) ([]ews.CalendarItem, error) {
	var all []ews.CalendarItem
	for page := 0; page < maxPages; page++ {
		p, err := c.FindItems(ctx, call, req)
		if err != nil {
			return all, err
		}
		all = append(all, p.Items...)
		if p.IncludesLastItemInRange || p.NextOffset <= req.Offset {
			return all, nil
		}
		req.Offset = p.NextOffset
	}
	return all, fmt.Errorf("ewsclient: FindItems: more than %d pages", maxPages)
}
