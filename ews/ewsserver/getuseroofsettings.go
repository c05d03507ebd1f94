package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

func getUserOofSettingsError(err error) any {
	m := responseFor(err)
	return &ewswire.GetUserOofSettingsResponse{ResponseMessage: &m}
}

// getUserOofSettings serves m:GetUserOofSettingsRequest (singular
// ResponseMessage, Duration always present).
func (h *Handler) getUserOofSettings(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetUserOofSettingsRequest)
	if h.avail == nil {
		return nil, notSupported("GetUserOofSettings")
	}
	s, err := h.avail.GetUserOofSettings(ctx, c, req.Mailbox.Address)
	if err != nil {
		return nil, err
	}
	return ewswire.OofResponseFrom(s), nil
}
