package ews

import (
	"errors"
	"fmt"
)

// ItemId identifies an item in a mailbox (XSD t:ItemIdType). ChangeKey
// changes on every modification; a stale ChangeKey on update is a conflict.
type ItemId struct {
	Id        string
	ChangeKey string
}

// IsZero reports whether the id is empty.
func (id ItemId) IsZero() bool { return id.Id == "" }

// FolderId identifies a folder by its opaque id (XSD t:FolderIdType).
type FolderId struct {
	Id        string
	ChangeKey string
}

// IsZero reports whether the id is empty.
func (id FolderId) IsZero() bool { return id.Id == "" }

// DistinguishedFolderName names a well-known folder
// (XSD t:DistinguishedFolderIdNameType).
type DistinguishedFolderName string

// Well-known folders calsync uses.
const (
	FolderCalendar    DistinguishedFolderName = "calendar"
	FolderInbox       DistinguishedFolderName = "inbox"
	FolderDeleted     DistinguishedFolderName = "deleteditems"
	FolderRoot        DistinguishedFolderName = "root"
	FolderMsgRoot     DistinguishedFolderName = "msgfolderroot"
	FolderSentItems   DistinguishedFolderName = "sentitems"
	FolderDrafts      DistinguishedFolderName = "drafts"
	FolderContacts    DistinguishedFolderName = "contacts"
	FolderTasks       DistinguishedFolderName = "tasks"
	FolderOutbox      DistinguishedFolderName = "outbox"
	FolderJunkEmail   DistinguishedFolderName = "junkemail"
	FolderNotes       DistinguishedFolderName = "notes"
	FolderSearchRoot  DistinguishedFolderName = "searchfolders"
	FolderPublicRoot  DistinguishedFolderName = "publicfoldersroot"
	FolderRecoverable DistinguishedFolderName = "recoverableitemsroot"
)

// DistinguishedFolderId addresses a well-known folder, optionally in another
// mailbox (XSD t:DistinguishedFolderIdType). Mailbox is an SMTP address; with
// impersonation it is normally empty.
type DistinguishedFolderId struct {
	Id        DistinguishedFolderName
	ChangeKey string
	Mailbox   string
}

// FolderRef addresses a folder either by id or by well-known name (XSD
// t:BaseFolderIdType choice). Exactly one field must be set.
type FolderRef struct {
	Folder        *FolderId
	Distinguished *DistinguishedFolderId
}

// CalendarFolder is the FolderRef of the impersonated user's calendar.
func CalendarFolder() FolderRef {
	return FolderRef{Distinguished: &DistinguishedFolderId{Id: FolderCalendar}}
}

// FolderByID returns a FolderRef for an opaque folder id.
func FolderByID(id FolderId) FolderRef { return FolderRef{Folder: &id} }

// Validate checks that exactly one form is set and it is not empty.
func (f FolderRef) Validate() error {
	switch {
	case f.Folder != nil && f.Distinguished != nil:
		return errors.New("ews: folder reference has both an id and a distinguished name")
	case f.Folder != nil:
		if f.Folder.Id == "" {
			return errors.New("ews: folder reference has an empty id")
		}
	case f.Distinguished != nil:
		if f.Distinguished.Id == "" {
			return errors.New("ews: folder reference has an empty distinguished name")
		}
	default:
		return errors.New("ews: folder reference is empty")
	}
	return nil
}

// OccurrenceItemId addresses one occurrence of a recurring series by its
// 1-based index (XSD t:OccurrenceItemIdType).
type OccurrenceItemId struct {
	RecurringMasterId string
	ChangeKey         string
	InstanceIndex     int
}

// RecurringMasterItemId addresses the master of the series an occurrence or
// exception belongs to (XSD t:RecurringMasterItemIdType).
type RecurringMasterItemId struct {
	OccurrenceId string
	ChangeKey    string
}

// ItemRef addresses an item (XSD t:BaseItemIdType choice): a plain ItemId,
// an occurrence by index, or the master of an occurrence. Exactly one field
// must be set.
type ItemRef struct {
	Item       *ItemId
	Occurrence *OccurrenceItemId
	Master     *RecurringMasterItemId
}

// ItemByID returns an ItemRef for a plain item id.
func ItemByID(id ItemId) ItemRef { return ItemRef{Item: &id} }

// Validate checks that exactly one form is set and is meaningful.
func (r ItemRef) Validate() error {
	n := 0
	if r.Item != nil {
		n++
		if r.Item.Id == "" {
			return errors.New("ews: item reference has an empty id")
		}
	}
	if r.Occurrence != nil {
		n++
		if r.Occurrence.RecurringMasterId == "" {
			return errors.New("ews: occurrence reference has an empty master id")
		}
		if r.Occurrence.InstanceIndex < 1 {
			return fmt.Errorf("ews: occurrence reference has instance index %d, want >= 1", r.Occurrence.InstanceIndex)
		}
	}
	if r.Master != nil {
		n++
		if r.Master.OccurrenceId == "" {
			return errors.New("ews: recurring master reference has an empty occurrence id")
		}
	}
	if n != 1 {
		return fmt.Errorf("ews: item reference must have exactly one form, has %d", n)
	}
	return nil
}

// Mailbox is an email address with an optional display name
// (XSD t:EmailAddressType).
type Mailbox struct {
	Name         string
	EmailAddress string
	RoutingType  string
	MailboxType  string
}

// Folder is a folder's properties (t:BaseFolderType): Kind is the element
// name ("CalendarFolder", "Folder", …). ExtendedProperties maps a MAPI
// property tag ("0x670A") to its value.
type Folder struct {
	Kind               string
	FolderId           FolderId
	ParentFolderId     FolderId
	FolderClass        string
	DisplayName        string
	TotalCount         int
	ChildFolderCount   int
	ExtendedProperties map[string]string
}
