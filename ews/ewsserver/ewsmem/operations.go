package ewsmem

import (
	"context"
	"strconv"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// FindItem implements ewsserver.Backend: CalendarView expansion with
// Exchange's limits, or an IndexedPageItemView over singles and masters.
func (x *Exchange) FindItem(ctx context.Context, c *ewsserver.Caller, req ewsserver.FindItemRequest) (ewsserver.FindItemResult, error) {
	mb, err := x.folderMailbox(c, req.Folder)
	if err != nil {
		return ewsserver.FindItemResult{}, err
	}
	if cv := req.CalendarView; cv != nil {
		if req.HasRestriction || req.HasSortOrder {
			return ewsserver.FindItemResult{}, ewsserver.Fail(x.opts.CalendarViewRestrictionCode, "Restrictions and sort order may not be specified for a CalendarView.")
		}
		if code := ewsserver.CheckCalendarViewWindow(cv.Start, cv.End); code != "" {
			return ewsserver.FindItemResult{}, ewsserver.Fail(code, viewMessage(code))
		}
		mb.mu.Lock()
		all := mb.instancesBetween(cv.Start, cv.End)
		mb.mu.Unlock()
		page := ewsserver.LimitCalendarView(len(all), cv.MaxEntries, cv.MaxGiven, x.Policy().FindCountLimit)
		if page.Code != "" {
			if page.Code == ews.ErrorExceededFindCountLimit {
				x.throttle.count(string(page.Code))
				return ewsserver.FindItemResult{}, ewsserver.Fail(page.Code, viewMessage(page.Code), ews.ValuePolicyLimit, itoa(x.Policy().FindCountLimit))
			}
			return ewsserver.FindItemResult{}, ewsserver.Fail(page.Code, viewMessage(page.Code))
		}
		items := all[:page.N]
		for i := range items {
			shapeForFind(&items[i], c)
		}
		return ewsserver.FindItemResult{Items: items, TotalItemsInView: page.Total, IncludesLastInRange: page.IncludesLast}, nil
	}
	if req.SeekToCondition {
		return ewsserver.FindItemResult{}, ewsserver.Fail(ews.ErrorCalendarSeekToConditionNotSupported, "SeekToConditionPageItemView is not supported for calendar folders.")
	}
	if req.Offset < 0 || req.MaxEntries < 0 {
		return ewsserver.FindItemResult{}, ewsserver.Fail(ews.ErrorInvalidIndexedPagingParameters, "Paging parameters are invalid.")
	}
	mb.mu.Lock()
	all := make([]ews.CalendarItem, 0, len(mb.items))
	for _, it := range mb.items {
		all = append(all, mb.masterView(it))
	}
	mb.mu.Unlock()
	ewsserver.SortByStart(all, func(c ews.CalendarItem) time.Time { return c.Start }, func(c ews.CalendarItem) time.Time { return c.End },
		func(c ews.CalendarItem) string { return c.ItemId.Id })
	total := len(all)
	if req.FromEnd {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	maxPage := req.MaxEntries
	if maxPage == 0 || maxPage > 1000 {
		maxPage = 1000
	}
	start := min(req.Offset, total)
	end := min(start+maxPage, total)
	items := all[start:end]
	for i := range items {
		shapeForFind(&items[i], c)
	}
	return ewsserver.FindItemResult{Items: items, TotalItemsInView: total, IncludesLastInRange: end >= total,
		IndexedPagingOffset: end, Indexed: true}, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func viewMessage(code ews.ResponseCode) string {
	switch code {
	case ews.ErrorCalendarEndDateIsEarlierThanStartDate:
		return "EndDate is earlier than StartDate"
	case ews.ErrorCalendarViewRangeTooBig:
		return "The time window specified is larger than the maximum of 2 years."
	case ews.ErrorExceededFindCountLimit:
		return "You have exceeded the maximum number of objects that can be returned for the find operation. Use paging to reduce the result size and try your request again."
	case ews.ErrorInvalidPagingMaxRows:
		return "The specified paging MaxRows value is invalid."
	}
	return string(code)
}

// shapeForFind drops what FindItem never returns (bodies, attendees,
// recurrence blobs) and maps WorkingElsewhere for old request versions.
func shapeForFind(c *ews.CalendarItem, caller *ewsserver.Caller) {
	c.Body = nil
	c.RequiredAttendees, c.OptionalAttendees, c.Resources = nil, nil, nil
	c.Recurrence = nil
	c.ModifiedOccurrences, c.DeletedOccurrences = nil, nil
	c.FirstOccurrence, c.LastOccurrence = nil, nil
	shapeForVersion(c, caller)
}

func shapeForVersion(c *ews.CalendarItem, caller *ewsserver.Caller) {
	if c.LegacyFreeBusyStatus == ews.FreeBusyWorkingElsewhere && !caller.RequestVersion.AtLeast2013() {
		c.LegacyFreeBusyStatus = ews.FreeBusyFree
	}
}

// mailboxOfItem finds the mailbox an item reference belongs to and checks
// access.
func (x *Exchange) mailboxOfItem(c *ewsserver.Caller, ref ews.ItemRef) (*mailbox, error) {
	if err := ref.Validate(); err != nil {
		return nil, ewsserver.Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
	}
	var id string
	switch {
	case ref.Item != nil:
		id = ref.Item.Id
	case ref.Occurrence != nil:
		id = ref.Occurrence.RecurringMasterId
	default:
		id = ref.Master.OccurrenceId
	}
	d, ok := decodeID(id)
	if !ok {
		return nil, ewsserver.Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
	}
	x.mu.RLock()
	if d.mailbox >= len(x.order) {
		x.mu.RUnlock()
		return nil, ewsserver.Fail(ews.ErrorItemNotFound, "The specified object was not found in the store.")
	}
	addr := x.order[d.mailbox]
	x.mu.RUnlock()
	mb, err := x.accessMailbox(c, addr)
	if err != nil {
		if code, _ := ews.CodeOf(err); code == ews.ErrorAccessDenied {
			return nil, ewsserver.Fail(ews.ErrorItemNotFound, "The specified object was not found in the store.")
		}
		return nil, err
	}
	return mb, nil
}

// GetItem implements ewsserver.Backend.
func (x *Exchange) GetItem(ctx context.Context, c *ewsserver.Caller, refs []ews.ItemRef) []ewsserver.ItemResult {
	out := make([]ewsserver.ItemResult, len(refs))
	b := x.newBatch(c)
	for i, ref := range refs {
		if err := b.begin(ctx, i); err != nil {
			out[i].Err = err
			continue
		}
		mb, err := x.mailboxOfItem(c, ref)
		if err != nil {
			out[i].Err = b.end(err)
			continue
		}
		mb.mu.Lock()
		it, index, err := mb.resolveLocked(ref)
		if err == nil {
			v := mb.viewLocked(it, index)
			shapeForVersion(&v, c)
			out[i].Item = &v
		}
		mb.mu.Unlock()
		out[i].Err = b.end(err)
	}
	return out
}

// CreateItem implements ewsserver.Backend.
func (x *Exchange) CreateItem(ctx context.Context, c *ewsserver.Caller, folder ews.FolderRef, items []ews.CalendarItem) []ewsserver.ItemResult {
	out := make([]ewsserver.ItemResult, len(items))
	if folder.Folder == nil && folder.Distinguished == nil {
		folder = ews.CalendarFolder()
	}
	mb, ferr := x.folderMailbox(c, folder)
	b := x.newBatch(c)
	for i, item := range items {
		if err := b.begin(ctx, i); err != nil {
			out[i].Err = err
			continue
		}
		if ferr != nil {
			// Every item fails on the folder; ErrorAccessDenied stops the
			// batch after the first.
			out[i].Err = b.end(ferr)
			continue
		}
		mb.mu.Lock()
		it, err := mb.createLocked(item)
		if err == nil {
			v := ews.CalendarItem{ItemId: it.ref()}
			out[i].Item = &v
		}
		mb.mu.Unlock()
		out[i].Err = b.end(err)
	}
	return out
}

// UpdateItem implements ewsserver.Backend.
func (x *Exchange) UpdateItem(ctx context.Context, c *ewsserver.Caller, changes []ewsserver.ItemChange, conflict string) []ewsserver.ItemResult {
	out := make([]ewsserver.ItemResult, len(changes))
	b := x.newBatch(c)
	for i, ch := range changes {
		if err := b.begin(ctx, i); err != nil {
			out[i].Err = err
			continue
		}
		mb, err := x.mailboxOfItem(c, ch.Ref)
		if err != nil {
			out[i].Err = b.end(err)
			continue
		}
		mb.mu.Lock()
		it, index, err := mb.updateLocked(ch.Ref, ch.Updates, conflict)
		if err == nil {
			v := ews.CalendarItem{ItemId: mb.viewLocked(it, index).ItemId}
			out[i].Item = &v
		}
		mb.mu.Unlock()
		out[i].Err = b.end(err)
	}
	return out
}

// DeleteItem implements ewsserver.Backend.
func (x *Exchange) DeleteItem(ctx context.Context, c *ewsserver.Caller, refs []ews.ItemRef) []error {
	out := make([]error, len(refs))
	b := x.newBatch(c)
	for i, ref := range refs {
		if err := b.begin(ctx, i); err != nil {
			out[i] = err
			continue
		}
		mb, err := x.mailboxOfItem(c, ref)
		if err != nil {
			out[i] = b.end(err)
			continue
		}
		mb.mu.Lock()
		err = mb.deleteRefLocked(ref)
		mb.mu.Unlock()
		out[i] = b.end(err)
	}
	return out
}

// GetUserOofSettings implements ewsserver.BackendAvailability.
func (x *Exchange) GetUserOofSettings(ctx context.Context, c *ewsserver.Caller, addr string) (ews.OofSettings, error) {
	mb, err := x.accessMailbox(c, addr)
	if err != nil {
		return ews.OofSettings{}, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	s := mb.oof
	if s.State == "" {
		s.State = ews.OofDisabled
	}
	if s.ExternalAudience == "" {
		s.ExternalAudience = ews.AudienceNone
	}
	if s.Start.IsZero() {
		now := x.now()
		s.Start, s.End = now.Truncate(time.Hour), now.Truncate(time.Hour).Add(24*time.Hour)
	}
	s.AllowExternalOof = "All"
	return s, nil
}

// SetUserOofSettings implements ewsserver.BackendAvailability.
func (x *Exchange) SetUserOofSettings(ctx context.Context, c *ewsserver.Caller, addr string, s ews.OofSettings) error {
	mb, err := x.accessMailbox(c, addr)
	if err != nil {
		return err
	}
	if s.State == ews.OofScheduled && !s.End.After(s.Start) {
		return ewsserver.Fail(ews.ErrorInvalidScheduledOofDuration, "The scheduled OOF duration is invalid.")
	}
	return x.SetOOF(mb.smtp, s)
}
