package ewsmem

import (
	"context"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// GetFolder implements ewsserver.BackendFolders: the root, the message
// folder root and the calendar of each mailbox.
func (x *Exchange) GetFolder(ctx context.Context, c *ewsserver.Caller, refs []ews.FolderRef) []ewsserver.FolderResult {
	out := make([]ewsserver.FolderResult, len(refs))
	for i, ref := range refs {
		out[i].Folder, out[i].Err = x.getFolder(c, ref)
	}
	return out
}

func (x *Exchange) getFolder(c *ewsserver.Caller, ref ews.FolderRef) (*ews.Folder, error) {
	if err := ref.Validate(); err != nil {
		return nil, ewsserver.Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
	}
	target, name := c.Mailbox(), ews.FolderCalendar
	if d := ref.Distinguished; d != nil {
		name = d.Id
		if d.Mailbox != "" {
			target = d.Mailbox
		}
	} else {
		d, ok := decodeID(ref.Folder.Id)
		if !ok || d.kind != "F" {
			return nil, ewsserver.Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
		}
		x.mu.RLock()
		if d.mailbox >= len(x.order) {
			x.mu.RUnlock()
			return nil, ewsserver.Fail(ews.ErrorFolderNotFound, "The specified folder could not be found in the store.")
		}
		target = x.order[d.mailbox]
		x.mu.RUnlock()
		mb, _ := x.mailbox(target)
		if ref.Folder.Id == mb.folderID() {
			name = ews.FolderCalendar
		} else {
			name = ews.FolderRoot
		}
	}
	mb, err := x.accessMailbox(c, target)
	if err != nil {
		return nil, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	root := ews.FolderId{Id: mb.rootID(), ChangeKey: "AQAAAA=="}
	switch name {
	case ews.FolderCalendar:
		return &ews.Folder{Kind: "CalendarFolder", FolderId: mb.folderRef(), ParentFolderId: root, FolderClass: "IPF.Appointment",
			DisplayName: "Calendar", TotalCount: len(mb.items)}, nil
	case ews.FolderRoot, ews.FolderMsgRoot:
		return &ews.Folder{Kind: "Folder", FolderId: root, ParentFolderId: root, DisplayName: "Top of Information Store", ChildFolderCount: 1}, nil
	}
	return nil, ewsserver.Failf(ews.ErrorFolderNotFound, "The simulator has no %s folder.", name)
}
