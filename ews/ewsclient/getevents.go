package ewsclient

import (
	"context"
	"errors"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// GetEvents polls a pull subscription once with the last watermark the
// server returned. Call again at once while the notification's MoreEvents
// is true. The same user must be impersonated as for Subscribe.
func (c *Client) GetEvents(ctx context.Context, call Call, subscriptionID, watermark string) (ews.Notification, error) {
	const op = "GetEvents"
	if subscriptionID == "" || watermark == "" {
		return ews.Notification{}, errors.New("ewsclient: GetEvents: subscription id and watermark are required")
	}
	w := &ewswire.GetEvents{SubscriptionId: subscriptionID, Watermark: watermark}
	var resp ewswire.GetEventsResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return ews.Notification{}, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := single(op, len(msgs)); err != nil {
		return ews.Notification{}, err
	}
	if err := msgs[0].Err(op, -1); err != nil {
		return ews.Notification{}, err
	}
	if msgs[0].Notification == nil {
		return ews.Notification{}, &ews.ProtocolError{Op: op, Err: errors.New("response without Notification")}
	}
	n, err := msgs[0].Notification.ToEWS()
	if err != nil {
		return n, &ews.ProtocolError{Op: op, Err: err}
	}
	return n, nil
}
