package ewsserver

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func findItemError(err error) any {
	r := &ewswire.FindItemResponse{}
	r.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// findItemBody is a decoded m:FindItem with the parts the shared codec
// does not decode, taken from the raw request.
type findItemBody struct {
	*ewswire.FindItem
	parts findItemExtras
}

// findItemExtras are m:FindItem parts Exchange judges that the shared
// codec does not decode (clients of the codec never send them).
type findItemExtras struct {
	// Restriction and SortOrder are refused with a CalendarView.
	Restriction, SortOrder bool
	// SeekToCondition is a SeekToConditionPageItemView.
	SeekToCondition bool
	// CalendarViewMaxGiven is set when m:CalendarView carries a
	// MaxEntriesReturned attribute (MaxEntriesReturned="0" is a value).
	CalendarViewMaxGiven bool
}

// findItemParts scans a request whose body is m:FindItem for the direct
// children (and CalendarView attribute) the codec drops. raw has already
// been decoded once, so it is well-formed up to the end of the body.
func findItemParts(raw []byte) findItemExtras {
	var p findItemExtras
	dec := xml.NewDecoder(bytes.NewReader(raw))
	depth, findDepth := 0, -1
	for {
		tok, err := dec.Token()
		if err != nil {
			return p
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case findDepth < 0 && t.Name.Space == ewswire.NSMessages && t.Name.Local == "FindItem":
				findDepth = depth
			case findDepth > 0 && depth == findDepth+1 && t.Name.Space == ewswire.NSMessages:
				switch t.Name.Local {
				case "Restriction":
					p.Restriction = true
				case "SortOrder":
					p.SortOrder = true
				case "SeekToConditionPageItemView":
					p.SeekToCondition = true
				case "CalendarView":
					for _, a := range t.Attr {
						if a.Name.Space == "" && a.Name.Local == "MaxEntriesReturned" {
							p.CalendarViewMaxGiven = true
						}
					}
				}
			}
		case xml.EndElement:
			if depth == findDepth {
				return p
			}
			depth--
		}
	}
}

// findItem serves m:FindItem with a CalendarView or IndexedPageItemView.
func (h *Handler) findItem(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	var parts findItemExtras
	var req *ewswire.FindItem
	switch b := body.(type) {
	case *findItemBody:
		req, parts = b.FindItem, b.parts
	case *ewswire.FindItem:
		req = b
		parts.CalendarViewMaxGiven = b.CalendarView != nil && b.CalendarView.MaxEntriesReturned != 0
	}
	if len(req.ParentFolderIds) != 1 {
		return nil, Fail(ews.ErrorInvalidOperation, "FindItem on the simulator takes exactly one parent folder.")
	}
	shape, err := shapeOf(req.ItemShape)
	if err != nil {
		return nil, err
	}
	fr := FindItemRequest{Folder: req.ParentFolderIds[0].ToEWS(), Shape: shape.base,
		HasRestriction: parts.Restriction, HasSortOrder: parts.SortOrder, SeekToCondition: parts.SeekToCondition}
	switch {
	case req.CalendarView != nil:
		cv := req.CalendarView
		fr.CalendarView = &CalendarViewRequest{Start: cv.StartDate.Time, End: cv.EndDate.Time,
			MaxEntries: cv.MaxEntriesReturned, MaxGiven: parts.CalendarViewMaxGiven}
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
	root.Items = *shape.items(res.Items)
	resp := &ewswire.FindItemResponse{}
	resp.ResponseMessages.Messages = []ewswire.FindItemResponseMessage{{ResponseMessage: ewswire.Success(), RootFolder: root}}
	return resp, nil
}
