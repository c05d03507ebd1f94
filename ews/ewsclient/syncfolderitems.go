package ewsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// SyncFolderItemsRequest asks for the changes of a folder since SyncState.
type SyncFolderItemsRequest struct {
	// Folder defaults to the impersonated user's calendar.
	Folder *ews.FolderRef
	// SyncState is "" for the first call.
	SyncState string
	// MaxChanges is 1..512 (default 512).
	MaxChanges int
	// Properties returned for created/updated items; nil = ids only (then
	// read the items with GetItem).
	Properties []string
}

// SyncChangeKind is the kind of one change.
type SyncChangeKind string

// SyncChangeKind values (the t:Changes element names).
const (
	ChangeCreate         SyncChangeKind = "Create"
	ChangeUpdate         SyncChangeKind = "Update"
	ChangeDelete         SyncChangeKind = "Delete"
	ChangeReadFlagChange SyncChangeKind = "ReadFlagChange"
)

// SyncChange is one change. Item is set for Create/Update of calendar
// items; ItemClass names other item kinds (for example the
// IPM.SchedulePlus.FreeBusy temporary items, which callers should ignore).
type SyncChange struct {
	Kind      SyncChangeKind
	ItemId    ews.ItemId
	Item      *ews.CalendarItem
	ItemClass string
	IsRead    bool
}

// SyncPage is one SyncFolderItems answer. Store SyncState after
// processing the changes; call again until IncludesLastItemInRange.
type SyncPage struct {
	SyncState               string
	IncludesLastItemInRange bool
	Changes                 []SyncChange
}

// SyncFolderItems returns one page of changes. ErrorInvalidSyncStateData
// (ews.IsCode) means: start over with an empty SyncState.
func (c *Client) SyncFolderItems(ctx context.Context, call Call, req SyncFolderItemsRequest) (*SyncPage, error) {
	const op = "SyncFolderItems"
	maxChanges := req.MaxChanges
	if maxChanges == 0 {
		maxChanges = 512
	}
	if maxChanges < 1 || maxChanges > 512 {
		return nil, fmt.Errorf("ewsclient: SyncFolderItems: MaxChanges %d out of range 1..512", maxChanges)
	}
	folder := ews.CalendarFolder()
	if req.Folder != nil {
		folder = *req.Folder
	}
	ref, err := ewswire.FolderRefFrom(folder)
	if err != nil {
		return nil, fmt.Errorf("ewsclient: SyncFolderItems: %w", err)
	}
	w := &ewswire.SyncFolderItems{
		ItemShape:          ewswire.ItemShape{BaseShape: "IdOnly", AdditionalProperties: ewswire.Paths(req.Properties...)},
		SyncFolderId:       ewswire.TargetFolder{Ref: ref},
		SyncState:          req.SyncState,
		MaxChangesReturned: maxChanges,
	}
	var resp ewswire.SyncFolderItemsResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := single(op, len(msgs)); err != nil {
		return nil, err
	}
	m := &msgs[0]
	if err := m.Err(op, -1); err != nil {
		return nil, err
	}
	if m.SyncState == "" || m.IncludesLastItemInRange == nil {
		return nil, &ews.ProtocolError{Op: op, Err: errors.New("response without SyncState or IncludesLastItemInRange")}
	}
	page := &SyncPage{SyncState: m.SyncState, IncludesLastItemInRange: *m.IncludesLastItemInRange}
	if m.Changes != nil {
		for i, ch := range *m.Changes {
			sc := SyncChange{Kind: SyncChangeKind(ch.Kind), ItemId: ch.ItemId.ToEWS(), IsRead: ch.IsRead}
			if ch.ItemId == nil {
				return nil, &ews.ProtocolError{Op: op, Err: fmt.Errorf("change %d (%s) has no ItemId", i, ch.Kind)}
			}
			if ch.CalendarItem != nil {
				item, err := ch.CalendarItem.ToEWS()
				if err != nil {
					return nil, &ews.ProtocolError{Op: op, Err: err}
				}
				sc.Item = &item
				sc.ItemClass = item.ItemClass
			} else if ch.Other != nil {
				sc.ItemClass = ch.Other.ItemClass
			}
			page.Changes = append(page.Changes, sc)
		}
	}
	return page, nil
}

// SyncAll calls SyncFolderItems until IncludesLastItemInRange, at most
// maxPages times, and returns every change with the final SyncState. On an
// error it returns the pages gathered so far and the SyncState they end
// at (store it only after processing those changes).
func (c *Client) SyncAll(ctx context.Context, call Call, req SyncFolderItemsRequest, maxPages int) (*SyncPage, error) {
	all := &SyncPage{SyncState: req.SyncState}
	for page := 0; page < maxPages; page++ {
		p, err := c.SyncFolderItems(ctx, call, req)
		if err != nil {
			return all, err
		}
		all.Changes = append(all.Changes, p.Changes...)
		all.SyncState = p.SyncState
		all.IncludesLastItemInRange = p.IncludesLastItemInRange
		if p.IncludesLastItemInRange {
			return all, nil
		}
		req.SyncState = p.SyncState
	}
	return all, fmt.Errorf("ewsclient: SyncFolderItems: more than %d pages", maxPages)
}
