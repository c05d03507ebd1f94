package ewsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// GetFolderRequest reads folders by id or well-known name.
type GetFolderRequest struct {
	Folders []ews.FolderRef
	// ChangeTracking also requests PR_LOCAL_COMMIT_TIME_MAX and
	// PR_DELETED_COUNT_TOTAL (ews.Folder.ExtendedProperties).
	ChangeTracking bool
}

// FolderResult is one folder of a GetFolder batch.
type FolderResult struct {
	Folder ews.Folder
	Err    error
}

// GetFolder reads folders; the results are in input order, one per folder.
// The error is only for a failure of the whole call.
func (c *Client) GetFolder(ctx context.Context, call Call, req GetFolderRequest) ([]FolderResult, error) {
	const op = "GetFolder"
	if len(req.Folders) == 0 {
		return nil, errors.New("ewsclient: GetFolder: no folders")
	}
	w := &ewswire.GetFolder{FolderShape: ewswire.FolderShape{BaseShape: "Default"}}
	for _, f := range req.Folders {
		ref, err := ewswire.FolderRefFrom(f)
		if err != nil {
			return nil, fmt.Errorf("ewsclient: %s: %w", op, err)
		}
		w.FolderIds = append(w.FolderIds, ref)
	}
	if req.ChangeTracking {
		w.FolderShape.AdditionalProperties = &ewswire.PathList{ExtendedFieldURI: []ewswire.ExtendedFieldURI{
			{PropertyTag: TagLocalCommitTimeMax, PropertyType: "SystemTime"},
			{PropertyTag: TagDeletedCountTotal, PropertyType: "Integer"},
		}}
	}
	var resp ewswire.GetFolderResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), len(req.Folders)); err != nil {
		return nil, err
	}
	out := make([]FolderResult, len(msgs))
	for i := range msgs {
		if err := msgs[i].Err(op, i); err != nil {
			out[i].Err = err
			continue
		}
		if len(msgs[i].Folders) != 1 {
			out[i].Err = &ews.ProtocolError{Op: op, Err: fmt.Errorf("message %d holds %d folders", i, len(msgs[i].Folders))}
			continue
		}
		out[i].Folder = msgs[i].Folders[0].ToEWS()
	}
	return out, nil
}
