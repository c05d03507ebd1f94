package ewsmem

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// emptyFolders are the well-known folders besides the calendar that every
// Exchange mailbox has. The simulator keeps no items in them, but clients
// (exchangelib, Outlook add-ins) subscribe to and sync them, so they must
// exist: Subscribe and SyncFolderItems work on them, calendar-only
// operations such as CalendarView answer
// ErrorCalendarFolderIsInvalidForCalendarView as on Exchange.
var emptyFolders = map[ews.DistinguishedFolderName]bool{
	ews.FolderInbox: true, ews.FolderSentItems: true, ews.FolderDrafts: true, ews.FolderDeleted: true,
	ews.FolderOutbox: true, ews.FolderJunkEmail: true, ews.FolderContacts: true, ews.FolderTasks: true,
	ews.FolderNotes: true, "journal": true,
}

// isEmptyFolder reports whether f names one of the item-less well-known folders.
func isEmptyFolder(f ews.FolderRef) bool {
	return f.Distinguished != nil && emptyFolders[f.Distinguished.Id]
}

// emptyFolderState is the sync state of an empty folder: it names mailbox,
// sync epoch and folder so that a calendar state (or another folder's) is
// refused with ErrorInvalidSyncStateData, as Exchange refuses foreign states.
func emptyFolderState(mb *mailbox, name ews.DistinguishedFolderName) string {
	b := make([]byte, 0, 19)
	b = append(b, "SE1"...)
	b = binary.BigEndian.AppendUint32(b, uint32(mb.index))
	b = binary.BigEndian.AppendUint32(b, mb.syncEpoch)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE([]byte(name)))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(b)
}

// syncEmptyFolder answers SyncFolderItems on an empty well-known folder:
// no changes and a state that stays valid until the mailbox is reset.
func syncEmptyFolder(mb *mailbox, req ewsserver.SyncRequest) (ewsserver.SyncResult, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	state := emptyFolderState(mb, req.Folder.Distinguished.Id)
	if req.SyncState != "" && req.SyncState != state {
		return ewsserver.SyncResult{}, ewsserver.Fail(ews.ErrorInvalidSyncStateData, "Synchronization state data is corrupt or otherwise invalid.")
	}
	return ewsserver.SyncResult{SyncState: state, IncludesLastInRange: true}, nil
}
