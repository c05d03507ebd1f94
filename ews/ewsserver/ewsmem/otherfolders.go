package ewsmem

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strconv"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// wellKnownFolder is a folder every Exchange mailbox has besides the
// calendar. The simulator keeps no items in them, but clients (exchangelib,
// Outlook add-ins) look them up, subscribe to and sync them, so they exist:
// GetFolder answers them by name and by id, Subscribe and SyncFolderItems
// work on them (nothing ever happens there), calendar-only operations such
// as CalendarView answer ErrorCalendarFolderIsInvalidForCalendarView as on
// Exchange.
type wellKnownFolder struct {
	name    ews.DistinguishedFolderName
	kind    string // element name in GetFolder answers
	class   string // FolderClass ("" for the roots)
	display string
}

// hierarchy is the folder tree below the calendar's mailbox: index 0 is
// the root (the mailbox's root, parent of the IPM subtree), index 1
// msgfolderroot ("Top of Information Store", parent of the calendar and of
// every other folder here). Folder ids are encodeID("F", mailbox, index);
// the calendar keeps encodeID("F", mailbox).
var hierarchy = []wellKnownFolder{
	{ews.FolderRoot, "Folder", "", ""},
	{ews.FolderMsgRoot, "Folder", "", "Top of Information Store"},
	{ews.FolderInbox, "Folder", "IPF.Note", "Inbox"},
	{ews.FolderSentItems, "Folder", "IPF.Note", "Sent Items"},
	{ews.FolderDrafts, "Folder", "IPF.Note", "Drafts"},
	{ews.FolderDeleted, "Folder", "IPF.Note", "Deleted Items"},
	{ews.FolderOutbox, "Folder", "IPF.Note", "Outbox"},
	{ews.FolderJunkEmail, "Folder", "IPF.Note", "Junk Email"},
	{ews.FolderContacts, "ContactsFolder", "IPF.Contact", "Contacts"},
	{ews.FolderTasks, "TasksFolder", "IPF.Task", "Tasks"},
	{ews.FolderNotes, "Folder", "IPF.StickyNote", "Notes"},
	{"journal", "Folder", "IPF.Journal", "Journal"},
}

const (
	rootIndex    = 0
	msgRootIndex = 1
)

func hierarchyIndex(name ews.DistinguishedFolderName) (int, bool) {
	for i, f := range hierarchy {
		if f.name == name {
			return i, true
		}
	}
	return 0, false
}

// wellKnownRef is the id of hierarchy folder i of mb.
func (mb *mailbox) wellKnownRef(i int) ews.FolderId {
	return ews.FolderId{Id: encodeID("F", strconv.Itoa(mb.index), strconv.Itoa(i)), ChangeKey: "AQAAAA=="}
}

// itemlessFolder reports whether f names one of mb's folders without
// items (every hierarchy folder: the roots hold only folders here, the
// others are empty), and which. An id of another mailbox is no folder of
// mb.
func itemlessFolder(mb *mailbox, f ews.FolderRef) (ews.DistinguishedFolderName, bool) {
	if d := f.Distinguished; d != nil {
		_, ok := hierarchyIndex(d.Id)
		return d.Id, ok
	}
	if f.Folder == nil {
		return "", false
	}
	d, ok := decodeID(f.Folder.Id)
	if !ok || d.kind != "F" || d.folder < 0 || d.mailbox != mb.index {
		return "", false
	}
	return hierarchy[d.folder].name, true
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
func syncEmptyFolder(mb *mailbox, name ews.DistinguishedFolderName, req ewsserver.SyncRequest) (ewsserver.SyncResult, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	state := emptyFolderState(mb, name)
	if req.SyncState != "" && req.SyncState != state {
		return ewsserver.SyncResult{}, ewsserver.Fail(ews.ErrorInvalidSyncStateData, "Synchronization state data is corrupt or otherwise invalid.")
	}
	return ewsserver.SyncResult{SyncState: state, IncludesLastInRange: true}, nil
}
