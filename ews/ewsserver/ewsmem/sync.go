package ewsmem

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"sort"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// Sync states are opaque to clients: base64 of mailbox index, sync epoch,
// sequence number and a checksum. A state from another mailbox, an older
// epoch (invalidated or restarted), a future sequence or a damaged string
// fails with ErrorInvalidSyncStateData.
func encodeSyncState(mbIndex int, epoch uint32, seq uint64) string {
	b := make([]byte, 0, 24)
	b = append(b, "SS1"...)
	b = binary.BigEndian.AppendUint32(b, uint32(mbIndex))
	b = binary.BigEndian.AppendUint32(b, epoch)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(b)
}

func decodeSyncState(s string) (mbIndex int, epoch uint32, seq uint64, ok bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 3+4+4+8+4 || string(b[:3]) != "SS1" {
		return 0, 0, 0, false
	}
	if crc32.ChecksumIEEE(b[:19]) != binary.BigEndian.Uint32(b[19:]) {
		return 0, 0, 0, false
	}
	return int(binary.BigEndian.Uint32(b[3:])), binary.BigEndian.Uint32(b[7:]), binary.BigEndian.Uint64(b[11:]), true
}

// SyncFolderItems implements ewsserver.Backend: the changes of the calendar
// folder (masters and single items, never occurrences) since a state.
func (x *Exchange) SyncFolderItems(ctx context.Context, c *ewsserver.Caller, req ewsserver.SyncRequest) (ewsserver.SyncResult, error) {
	if req.MaxChanges < 1 || req.MaxChanges > 512 {
		return ewsserver.SyncResult{}, ewsserver.Fault(ews.ErrorSchemaValidation, "The request failed schema validation: MaxChangesReturned must be between 1 and 512.")
	}
	if mb, err := x.anyFolderMailbox(c, req.Folder); err == nil {
		if name, ok := itemlessFolder(mb, req.Folder); ok {
			return syncEmptyFolder(mb, name, req)
		}
	}
	mb, err := x.folderMailbox(c, req.Folder)
	if err != nil {
		if code, _ := ews.CodeOf(err); code == ews.ErrorFolderNotFound {
			return ewsserver.SyncResult{}, ewsserver.Fail(ews.ErrorSyncFolderNotFound, "The specified folder could not be found in the store.")
		}
		return ewsserver.SyncResult{}, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var since uint64
	if req.SyncState != "" {
		idx, epoch, seq, ok := decodeSyncState(req.SyncState)
		if !ok || idx != mb.index || epoch != mb.syncEpoch || seq > mb.seq {
			return ewsserver.SyncResult{}, ewsserver.Fail(ews.ErrorInvalidSyncStateData, "Synchronization state data is corrupt or otherwise invalid.")
		}
		since = seq
	}
	type change struct {
		seq uint64
		ch  ewsserver.SyncChange
	}
	var changes []change
	for _, it := range mb.items {
		if it.seq <= since {
			continue
		}
		v := mb.masterView(it) // the handler applies IdOnly (it may ask for extended properties)
		shapeForVersion(&v, c)
		kind := ewsserver.SyncUpdate
		if it.createdSeq > since {
			kind = ewsserver.SyncCreate
		}
		changes = append(changes, change{it.seq, ewsserver.SyncChange{Kind: kind, Item: &v}})
	}
	for id, t := range mb.tombstones {
		if t.seq > since && t.createdSeq <= since {
			changes = append(changes, change{t.seq, ewsserver.SyncChange{Kind: ewsserver.SyncDelete, ItemId: ews.ItemId{Id: id}}})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].seq < changes[j].seq })
	res := ewsserver.SyncResult{IncludesLastInRange: true}
	next := mb.seq
	if len(changes) > req.MaxChanges {
		changes = changes[:req.MaxChanges]
		next = changes[len(changes)-1].seq
		res.IncludesLastInRange = false
	}
	for _, ch := range changes {
		res.Changes = append(res.Changes, ch.ch)
	}
	res.SyncState = encodeSyncState(mb.index, mb.syncEpoch, next)
	return res, nil
}
