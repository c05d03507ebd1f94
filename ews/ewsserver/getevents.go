package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

func getEventsError(err error) any {
	r := &ewswire.GetEventsResponse{}
	r.ResponseMessages.Messages = []ewswire.GetEventsResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// getEvents serves m:GetEvents of a pull subscription.
func (h *Handler) getEvents(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetEvents)
	if h.notify == nil {
		return nil, notSupported("Notifications")
	}
	n, err := h.notify.GetEvents(ctx, c, req.SubscriptionId, req.Watermark)
	if err != nil {
		return nil, err
	}
	resp := &ewswire.GetEventsResponse{}
	resp.ResponseMessages.Messages = []ewswire.GetEventsResponseMessage{{ResponseMessage: ewswire.Success(), Notification: ewswire.NotificationFrom(n)}}
	return resp, nil
}
