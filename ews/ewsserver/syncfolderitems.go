package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews/internal/ewswire"
)

func syncFolderItemsError(err error) any {
	r := &ewswire.SyncFolderItemsResponse{}
	r.ResponseMessages.Messages = []ewswire.SyncFolderItemsResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// syncFolderItems serves m:SyncFolderItems.
func (h *Handler) syncFolderItems(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.SyncFolderItems)
	shape, err := shapeOf(req.ItemShape)
	if err != nil {
		return nil, err
	}
	res, err := h.backend.SyncFolderItems(ctx, c, SyncRequest{Folder: req.SyncFolderId.Ref.ToEWS(), SyncState: req.SyncState,
		MaxChanges: req.MaxChangesReturned, Shape: shape.base})
	if err != nil {
		return nil, err
	}
	last := res.IncludesLastInRange
	changes := ewswire.SyncChanges{}
	for _, ch := range res.Changes {
		w := ewswire.SyncChange{Kind: string(ch.Kind)}
		if ch.Item != nil {
			w.CalendarItem = shape.item(*ch.Item)
		} else {
			w.ItemId = ewswire.ItemIdFrom(ch.ItemId)
		}
		changes = append(changes, w)
	}
	resp := &ewswire.SyncFolderItemsResponse{}
	resp.ResponseMessages.Messages = []ewswire.SyncFolderItemsResponseMessage{{ResponseMessage: ewswire.Success(),
		SyncState: res.SyncState, IncludesLastItemInRange: &last, Changes: &changes}}
	return resp, nil
}
