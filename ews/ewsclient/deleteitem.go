package ewsclient

import (
	"context"
	"fmt"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// DeleteType is the DeleteItem DeleteType attribute.
type DeleteType string

// DeleteType values.
const (
	HardDelete         DeleteType = "HardDelete"
	SoftDelete         DeleteType = "SoftDelete"
	MoveToDeletedItems DeleteType = "MoveToDeletedItems"
)

// DeleteItemRequest deletes items: singles, whole series (their master) or
// single occurrences (OccurrenceItemId).
type DeleteItemRequest struct {
	Items []ews.ItemRef
	// DeleteType defaults to MoveToDeletedItems.
	DeleteType DeleteType
	// SendMeetingCancellations defaults to SendToNone.
	SendMeetingCancellations SendInvitations
}

// DeleteItem deletes the items; the result has one error (or nil) per
// input, in order.
func (c *Client) DeleteItem(ctx context.Context, call Call, req DeleteItemRequest) ([]error, error) {
	const op = "DeleteItem"
	if len(req.Items) == 0 || len(req.Items) > MaxGetItemBatch {
		return nil, fmt.Errorf("ewsclient: DeleteItem: %d ids, want 1..%d", len(req.Items), MaxGetItemBatch)
	}
	dt := req.DeleteType
	if dt == "" {
		dt = MoveToDeletedItems
	}
	send := req.SendMeetingCancellations
	if send == "" {
		send = SendToNone
	}
	w := &ewswire.DeleteItem{DeleteType: string(dt), SendMeetingCancellations: string(send)}
	for _, r := range req.Items {
		ref, err := ewswire.ItemRefFrom(r)
		if err != nil {
			return nil, fmt.Errorf("ewsclient: DeleteItem: %w", err)
		}
		w.ItemIds = append(w.ItemIds, ref)
	}
	var resp ewswire.DeleteItemResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), len(req.Items)); err != nil {
		return nil, err
	}
	out := make([]error, len(msgs))
	for i := range msgs {
		out[i] = msgs[i].Err(op, i)
	}
	return out, nil
}
