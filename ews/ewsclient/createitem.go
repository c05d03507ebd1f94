package ewsclient

import (
	"context"
	"fmt"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// SendInvitations is the SendMeetingInvitations attribute
// (t:CalendarItemCreateOrDeleteOperationType).
type SendInvitations string

// SendInvitations values.
const (
	SendToNone               SendInvitations = "SendToNone"
	SendOnlyToAll            SendInvitations = "SendOnlyToAll"
	SendToAllAndSaveCopy     SendInvitations = "SendToAllAndSaveCopy"
	SendOnlyToChanged        SendInvitations = "SendOnlyToChanged"
	SendToChangedAndSaveCopy SendInvitations = "SendToChangedAndSaveCopy"
)

// CreateItemRequest creates calendar items (single or recurring masters;
// set Recurrence for a series).
type CreateItemRequest struct {
	Items []ews.CalendarItem
	// Folder defaults to the impersonated user's calendar.
	Folder *ews.FolderRef
	// SendMeetingInvitations defaults to SendToNone.
	SendMeetingInvitations SendInvitations
}

// IdResult is the new or changed id of one input, or its error.
type IdResult struct {
	ItemId ews.ItemId
	Err    error
}

// CreateItem creates the items; the results are in input order.
func (c *Client) CreateItem(ctx context.Context, call Call, req CreateItemRequest) ([]IdResult, error) {
	const op = "CreateItem"
	if len(req.Items) == 0 || len(req.Items) > MaxGetItemBatch {
		return nil, fmt.Errorf("ewsclient: CreateItem: %d items, want 1..%d", len(req.Items), MaxGetItemBatch)
	}
	send := req.SendMeetingInvitations
	if send == "" {
		send = SendToNone
	}
	w := &ewswire.CreateItem{SendMeetingInvitations: string(send)}
	if req.Folder != nil {
		ref, err := ewswire.FolderRefFrom(*req.Folder)
		if err != nil {
			return nil, fmt.Errorf("ewsclient: CreateItem: %w", err)
		}
		w.SavedItemFolderId = &ewswire.TargetFolder{Ref: ref}
	}
	for i, it := range req.Items {
		wi, err := ewswire.CalendarItemForCreate(it)
		if err != nil {
			return nil, fmt.Errorf("ewsclient: CreateItem: item %d: %w", i, err)
		}
		w.Items.CalendarItem = append(w.Items.CalendarItem, *wi)
	}
	var resp ewswire.CreateItemResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), len(req.Items)); err != nil {
		return nil, err
	}
	return idResults(op, msgs), nil
}

func idResults(op string, msgs []ewswire.ItemInfoResponseMessage) []IdResult {
	out := make([]IdResult, len(msgs))
	for i := range msgs {
		if err := msgs[i].Err(op, i); err != nil {
			out[i].Err = err
			continue
		}
		if len(msgs[i].Items.CalendarItem) == 1 {
			out[i].ItemId = msgs[i].Items.CalendarItem[0].ItemId.ToEWS()
		}
		if out[i].ItemId.IsZero() {
			out[i].Err = &ews.ProtocolError{Op: op, Err: fmt.Errorf("message %d returns no item id", i)}
		}
	}
	return out
}
