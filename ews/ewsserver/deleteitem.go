package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

func deleteItemError(err error) any {
	r := &ewswire.DeleteItemResponse{}
	r.ResponseMessages.Messages = []ewswire.ResponseMessage{responseFor(err)}
	return r
}

// deleteItem serves m:DeleteItem.
func (h *Handler) deleteItem(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.DeleteItem)
	refs, errs := itemRefs(req.ItemIds)
	results := h.backend.DeleteItem(ctx, c, validRefs(refs, errs))
	resp := &ewswire.DeleteItemResponse{}
	j := 0
	for i := range refs {
		err := errs[i]
		if err == nil {
			err = results[j]
			j++
		}
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, responseFor(err))
	}
	return resp, nil
}
