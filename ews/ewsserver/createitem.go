package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func createItemError(err error) any {
	r := &ewswire.CreateItemResponse{}
	r.ResponseMessages.Messages = []ewswire.ItemInfoResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// createItem serves m:CreateItem for calendar items.
func (h *Handler) createItem(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.CreateItem)
	if len(req.Items.Other) > 0 {
		return nil, Fail(ews.ErrorInvalidOperation, "The simulator stores calendar items only.")
	}
	folder := ews.CalendarFolder()
	if req.SavedItemFolderId != nil {
		folder = req.SavedItemFolderId.Ref.ToEWS()
	}
	items := make([]ews.CalendarItem, len(req.Items.CalendarItem))
	convErrs := make([]error, len(items))
	for i := range req.Items.CalendarItem {
		if w := &req.Items.CalendarItem[i]; w.Start != nil && w.End != nil && w.End.Before(w.Start.Time) {
			convErrs[i] = Fail(ews.ErrorCalendarEndDateIsEarlierThanStartDate, "EndDate is earlier than StartDate")
			continue
		}
		it, err := req.Items.CalendarItem[i].ToEWS()
		if err != nil {
			convErrs[i] = Failf(ews.ErrorInvalidRequest, "The calendar item is invalid: %v", err)
		}
		items[i] = it
	}
	var good []ews.CalendarItem
	for i := range items {
		if convErrs[i] == nil {
			good = append(good, items[i])
		}
	}
	results := h.backend.CreateItem(ctx, c, folder, good)
	resp := &ewswire.CreateItemResponse{}
	j := 0
	for i := range items {
		var m ewswire.ItemInfoResponseMessage
		if convErrs[i] != nil {
			m.ResponseMessage = responseFor(convErrs[i])
		} else {
			res := results[j]
			j++
			m.ResponseMessage = responseFor(res.Err)
			if res.Err == nil && res.Item != nil {
				m.Items = *ewswire.ItemIdsOf([]ews.ItemId{res.Item.ItemId})
			}
		}
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, m)
	}
	return resp, nil
}
