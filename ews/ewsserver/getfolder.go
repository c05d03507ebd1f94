package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func getFolderError(err error) any {
	r := &ewswire.GetFolderResponse{}
	r.ResponseMessages.Messages = []ewswire.FolderInfoResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// getFolder serves m:GetFolder.
func (h *Handler) getFolder(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetFolder)
	if h.folders == nil {
		return nil, notSupported("GetFolder")
	}
	refs := make([]ews.FolderRef, len(req.FolderIds))
	for i, f := range req.FolderIds {
		refs[i] = f.ToEWS()
	}
	results := h.folders.GetFolder(ctx, c, refs)
	resp := &ewswire.GetFolderResponse{}
	for _, res := range results {
		m := ewswire.FolderInfoResponseMessage{ResponseMessage: responseFor(res.Err)}
		if res.Err == nil && res.Folder != nil {
			m.Folders = ewswire.Folders{ewswire.FolderFrom(*res.Folder)}
		}
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, m)
	}
	return resp, nil
}
