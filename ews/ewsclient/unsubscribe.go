package ewsclient

import (
	"context"
	"errors"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

// Unsubscribe ends a pull or streaming subscription.
func (c *Client) Unsubscribe(ctx context.Context, call Call, subscriptionID string) error {
	const op = "Unsubscribe"
	if subscriptionID == "" {
		return errors.New("ewsclient: Unsubscribe: subscription id is required")
	}
	var resp ewswire.UnsubscribeResponse
	if _, err := c.roundTrip(ctx, call, op, &ewswire.Unsubscribe{SubscriptionId: subscriptionID}, &resp); err != nil {
		return err
	}
	msgs := resp.ResponseMessages.Messages
	if err := single(op, len(msgs)); err != nil {
		return err
	}
	return msgs[0].Err(op, -1)
}
