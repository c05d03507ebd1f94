package ewsclient

import (
	"context"
	"errors"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// GetUserOofSettings reads a mailbox's automatic-replies settings. Times
// are UTC; Start/End only count when the state is Scheduled.
func (c *Client) GetUserOofSettings(ctx context.Context, call Call, smtp string) (ews.OofSettings, error) {
	const op = "GetUserOofSettings"
	if smtp == "" {
		return ews.OofSettings{}, errors.New("ewsclient: GetUserOofSettings: mailbox address is required")
	}
	w := &ewswire.GetUserOofSettingsRequest{}
	w.Mailbox.Address = smtp
	var resp ewswire.GetUserOofSettingsResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return ews.OofSettings{}, err
	}
	if resp.ResponseMessage == nil {
		return ews.OofSettings{}, &ews.ProtocolError{Op: op, Err: errors.New("response without ResponseMessage")}
	}
	if err := resp.ResponseMessage.Err(op, -1); err != nil {
		return ews.OofSettings{}, err
	}
	s, err := resp.ToEWS()
	if err != nil {
		return s, &ews.ProtocolError{Op: op, Err: err}
	}
	return s, nil
}
