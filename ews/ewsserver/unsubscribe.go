package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

func unsubscribeError(err error) any {
	r := &ewswire.UnsubscribeResponse{}
	r.ResponseMessages.Messages = []ewswire.ResponseMessage{responseFor(err)}
	return r
}

// unsubscribe serves m:Unsubscribe (pull and streaming subscriptions).
func (h *Handler) unsubscribe(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.Unsubscribe)
	if h.notify == nil {
		return nil, notSupported("Notifications")
	}
	if err := h.notify.Unsubscribe(ctx, c, req.SubscriptionId); err != nil {
		return nil, err
	}
	return unsubscribeError(nil), nil
}
