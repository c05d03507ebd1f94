package ewsclient

import (
	"context"
	"errors"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// GetUserConfigurationStrings reads the dictionary of a user
// configuration object of the impersonated mailbox's root folder (such as
// ews.OWAUserOptions) and returns its string entries. An object that does
// not exist is an *ews.ResponseError (ErrorItemNotFound).
func (c *Client) GetUserConfigurationStrings(ctx context.Context, call Call, name string) (map[string]string, error) {
	const op = "GetUserConfiguration"
	if name == "" {
		return nil, errors.New("ewsclient: GetUserConfiguration: the configuration name is required")
	}
	w := &ewswire.GetUserConfiguration{
		UserConfigurationName:       ewswire.UserConfigurationName{Name: name, DistinguishedFolderID: &ewswire.DistinguishedFolderID{ID: "root"}},
		UserConfigurationProperties: "Dictionary",
	}
	var resp ewswire.GetUserConfigurationResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), 1); err != nil {
		return nil, err
	}
	if err := msgs[0].Err(op, -1); err != nil {
		return nil, err
	}
	if msgs[0].UserConfiguration == nil {
		return nil, &ews.ProtocolError{Op: op, Err: errors.New("response without UserConfiguration")}
	}
	return msgs[0].UserConfiguration.StringEntries(), nil
}
