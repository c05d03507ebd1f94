package ewsmem

import (
	"context"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// GetFolder implements ewsserver.BackendFolders: the calendar and the
// well-known folders of hierarchy, by name or id.
func (x *Exchange) GetFolder(ctx context.Context, c *ewsserver.Caller, refs []ews.FolderRef) []ewsserver.FolderResult {
	out := make([]ewsserver.FolderResult, len(refs))
	for i, ref := range refs {
		out[i].Folder, out[i].Err = x.getFolder(c, ref)
	}
	return out
}

func (x *Exchange) getFolder(c *ewsserver.Caller, ref ews.FolderRef) (*ews.Folder, error) {
	if ref.Folder != nil {
		if d, ok := decodeID(ref.Folder.Id); !ok || d.kind != "F" {
			return nil, ewsserver.Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
		}
	}
	mb, err := x.anyFolderMailbox(c, ref)
	if err != nil {
		return nil, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if name, ok := itemlessFolder(mb, ref); ok {
		i, _ := hierarchyIndex(name)
		f := hierarchy[i]
		out := &ews.Folder{Kind: f.kind, FolderId: mb.wellKnownRef(i), FolderClass: f.class, DisplayName: f.display}
		switch i {
		case rootIndex:
			out.ChildFolderCount = 1
		case msgRootIndex:
			out.ParentFolderId = mb.wellKnownRef(rootIndex)
			out.ChildFolderCount = len(hierarchy) - 1 // the calendar and the other folders
		default:
			out.ParentFolderId = mb.wellKnownRef(msgRootIndex)
		}
		return out, nil
	}
	if d := ref.Distinguished; d != nil && d.Id != ews.FolderCalendar {
		return nil, ewsserver.Failf(ews.ErrorFolderNotFound, "The simulator has no %s folder.", d.Id)
	}
	if ref.Folder != nil && ref.Folder.Id != mb.folderID() {
		return nil, ewsserver.Fail(ews.ErrorFolderNotFound, "The specified folder could not be found in the store.")
	}
	return &ews.Folder{Kind: "CalendarFolder", FolderId: mb.folderRef(), ParentFolderId: mb.wellKnownRef(msgRootIndex), FolderClass: "IPF.Appointment",
		DisplayName: "Calendar", TotalCount: len(mb.items)}, nil
}
