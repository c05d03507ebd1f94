package ewsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// MaxGetItemBatch is the most ids one GetItem call carries (exchangelib
// sends 100; Microsoft suggests small batches for sync).
const MaxGetItemBatch = 100

// GetItemRequest reads calendar items by id.
type GetItemRequest struct {
	Items []ews.ItemRef
	// Properties defaults to CalendarProperties.
	Properties []string
	// IncludeBody also returns the body as text.
	IncludeBody bool
}

// ItemResult is one item of a batch: the item or its error
// (*ews.ResponseError with Index set).
type ItemResult struct {
	Item ews.CalendarItem
	Err  error
}

// JoinErrors returns errors.Join of the failed results (nil if none).
func JoinErrors(results []ItemResult) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// GetItem reads up to MaxGetItemBatch items; the results are in input
// order, one per id. The error is only for a failure of the whole call.
func (c *Client) GetItem(ctx context.Context, call Call, req GetItemRequest) ([]ItemResult, error) {
	const op = "GetItem"
	if len(req.Items) == 0 || len(req.Items) > MaxGetItemBatch {
		return nil, fmt.Errorf("ewsclient: GetItem: %d ids, want 1..%d", len(req.Items), MaxGetItemBatch)
	}
	props := req.Properties
	if props == nil {
		props = CalendarProperties
	}
	if req.IncludeBody {
		props = append(append([]string(nil), props...), "item:Body")
	}
	w := &ewswire.GetItem{ItemShape: ewswire.ItemShape{BaseShape: "IdOnly", AdditionalProperties: ewswire.Paths(props...)}}
	if req.IncludeBody {
		w.ItemShape.BodyType = "Text"
	}
	for _, r := range req.Items {
		ref, err := ewswire.ItemRefFrom(r)
		if err != nil {
			return nil, fmt.Errorf("ewsclient: GetItem: %w", err)
		}
		w.ItemIds = append(w.ItemIds, ref)
	}
	var resp ewswire.GetItemResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), len(req.Items)); err != nil {
		return nil, err
	}
	return itemResults(op, msgs), nil
}

// itemResults converts ItemInfo messages holding one item each.
func itemResults(op string, msgs []ewswire.ItemInfoResponseMessage) []ItemResult {
	out := make([]ItemResult, len(msgs))
	for i := range msgs {
		if err := msgs[i].Err(op, i); err != nil {
			out[i].Err = err
			continue
		}
		if len(msgs[i].Items.CalendarItem) != 1 {
			n := len(msgs[i].Items.CalendarItem)
			if n == 0 && len(msgs[i].Items.Other) > 0 {
				out[i].Err = &ews.ProtocolError{Op: op, Err: fmt.Errorf("item %d is a %s, not a calendar item", i, msgs[i].Items.Other[0].Kind)}
				continue
			}
			out[i].Err = &ews.ProtocolError{Op: op, Err: fmt.Errorf("message %d holds %d calendar items", i, n)}
			continue
		}
		item, err := msgs[i].Items.CalendarItem[0].ToEWS()
		if err != nil {
			out[i].Err = &ews.ProtocolError{Op: op, Err: err}
			continue
		}
		out[i].Item = item
	}
	return out
}

// GetItems reads any number of items in batches of at most batchSize
// (1..MaxGetItemBatch; 0 means MaxGetItemBatch), one call after the other.
// Results are in input order; the error is the first whole-call failure,
// returned with the results gathered so far.
func (c *Client) GetItems(ctx context.Context, call Call, req GetItemRequest, batchSize int) ([]ItemResult, error) {
	if batchSize == 0 {
		batchSize = MaxGetItemBatch
	}
	if batchSize < 1 || batchSize > MaxGetItemBatch {
		return nil, fmt.Errorf("ewsclient: GetItems: batch size %d out of range 1..%d", batchSize, MaxGetItemBatch)
	}
	out := make([]ItemResult, 0, len(req.Items))
	for start := 0; start < len(req.Items); start += batchSize {
		part := req
		part.Items = req.Items[start:min(start+batchSize, len(req.Items))]
		res, err := c.GetItem(ctx, call, part)
		if err != nil {
			return out, err
		}
		for i := range res {
			var re *ews.ResponseError
			if errors.As(res[i].Err, &re) {
				re.Index += start
			}
		}
		out = append(out, res...)
	}
	return out, nil
}
