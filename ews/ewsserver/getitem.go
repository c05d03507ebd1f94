package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func getItemError(err error) any {
	r := &ewswire.GetItemResponse{}
	r.ResponseMessages.Messages = []ewswire.ItemInfoResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// itemRefs converts request ids; malformed ones become per-item errors.
func itemRefs(ids ewswire.ItemIds) ([]ews.ItemRef, []error) {
	refs := make([]ews.ItemRef, len(ids))
	errs := make([]error, len(ids))
	for i, id := range ids {
		r, err := id.ToEWS()
		if err != nil {
			errs[i] = Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
			continue
		}
		refs[i] = r
	}
	return refs, errs
}

// getItem serves m:GetItem, one response message per id in order.
func (h *Handler) getItem(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetItem)
	shape, err := shapeOf(req.ItemShape)
	if err != nil {
		return nil, err
	}
	refs, errs := itemRefs(req.ItemIds)
	results := h.backend.GetItem(ctx, c, validRefs(refs, errs))
	resp := &ewswire.GetItemResponse{}
	j := 0
	for i := range refs {
		if errs[i] != nil {
			resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, ewswire.ItemInfoResponseMessage{ResponseMessage: responseFor(errs[i])})
			continue
		}
		res := results[j]
		j++
		m := ewswire.ItemInfoResponseMessage{ResponseMessage: responseFor(res.Err)}
		if res.Err == nil && res.Item != nil {
			m.Items = *shape.items([]ews.CalendarItem{*res.Item})
		}
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, m)
	}
	return resp, nil
}

func validRefs(refs []ews.ItemRef, errs []error) []ews.ItemRef {
	out := make([]ews.ItemRef, 0, len(refs))
	for i, r := range refs {
		if errs[i] == nil {
			out = append(out, r)
		}
	}
	return out
}
