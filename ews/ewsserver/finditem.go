package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func findItemError(err error) any {
	r := &ewswire.FindItemResponse{}
	r.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// findItem serves m:FindItem with a CalendarView or IndexedPageItemView.
func (h *Handler) findItem(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.FindItem)
	if len(req.ParentFolderIds) != 1 {
		return nil, Fail(ews.ErrorInvalidRequest, "FindItem on the simulator takes exactly one parent folder.")
	}
	fr := FindItemRequest{Folder: req.ParentFolderIds[0].ToEWS(), Shape: baseShape(req.ItemShape)}
	switch {
	case req.CalendarView != nil:
		cv := req.CalendarView
		fr.CalendarView = &CalendarViewRequest{Start: cv.StartDate.Time, End: cv.EndDate.Time,
			MaxEntries: cv.MaxEntriesReturned, MaxGiven: cv.MaxEntriesReturned != 0}
	case req.IndexedPageItemView != nil:
		v := req.IndexedPageItemView
		fr.Offset, fr.MaxEntries, fr.FromEnd = v.Offset, v.MaxEntriesReturned, v.BasePoint == "End"
	}
	res, err := h.backend.FindItem(ctx, c, fr)
	if err != nil {
		return nil, err
	}
	root := &ewswire.FindItemRootFolder{TotalItemsInView: res.TotalItemsInView, IncludesLastItemInRange: res.IncludesLastInRange}
	if res.Indexed {
		off := res.IndexedPagingOffset
		root.IndexedPagingOffset = &off
	}
	if items := ewswire.ItemsOf(shapeItems(res.Items, fr.Shape)); items != nil {
		root.Items = *items
	}
	resp := &ewswire.FindItemResponse{}
	resp.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: ewswire.Success(), RootFolder: root}}
	return resp, nil
}

// baseShape is the effective shape: IdOnly with AdditionalProperties
// returns the properties (the simulator sends its Default set).
func baseShape(s ewswire.ItemShape) string {
	if s.BaseShape == "IdOnly" && s.AdditionalProperties != nil {
		return "Default"
	}
	return s.BaseShape
}

// shapeItems applies BaseShape IdOnly.
func shapeItems(items []ews.CalendarItem, shape string) []ews.CalendarItem {
	if shape != "IdOnly" {
		return items
	}
	out := make([]ews.CalendarItem, len(items))
	for i, it := range items {
		out[i] = ews.CalendarItem{ItemId: it.ItemId}
	}
	return out
}
