package ewsmem

import (
	"fmt"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

const maxItemDuration = 5 * 365 * 24 * time.Hour

// normalize checks and completes a calendar item for storage.
func normalizeItem(c *ews.CalendarItem) error {
	if c.Start.IsZero() || c.End.IsZero() {
		return ewsserver.Failf(ews.ErrorInvalidRequest, "A calendar item needs Start and End.")
	}
	if c.End.Before(c.Start) {
		return ewsserver.Failf(ews.ErrorCalendarEndDateIsEarlierThanStartDate, "The end date is earlier than the start date.")
	}
	if c.End.Sub(c.Start) > maxItemDuration {
		return ewsserver.Failf(ews.ErrorCalendarDurationIsTooLong, "The item's duration is too long.")
	}
	loc, err := ewsserver.LoadWindowsZone(c.StartTimeZone)
	if err != nil {
		return ewsserver.Failf(ews.ErrorTimeZone, "Unknown time zone %q.", c.StartTimeZone)
	}
	if c.IsAllDayEvent {
		s, e := c.Start.In(loc), c.End.In(loc)
		c.Start = time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, loc)
		end := time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, loc)
		if end.Before(e) || !end.After(c.Start) {
			end = time.Date(e.Year(), e.Month(), e.Day()+1, 0, 0, 0, 0, loc)
		}
		c.End = end
	}
	c.Start, c.End = c.Start.UTC(), c.End.UTC()
	c.EndTimeZone = c.StartTimeZone
	if c.Recurrence != nil {
		r := *c.Recurrence
		if r.Range.StartDate.IsZero() {
			r.Range.StartDate = ews.DateOf(c.Start.In(loc))
		}
		if r.Range.Kind == "" {
			r.Range.Kind = ews.RangeNoEnd
		}
		if err := ewsserver.ValidateRecurrence(&r); err != nil {
			return ewsserver.Failf(ews.ErrorCalendarInvalidRecurrence, "%v", err)
		}
		c.Recurrence = &r
		if err := checkSeriesSpan(c, loc); err != nil {
			return err
		}
	}
	if c.LegacyFreeBusyStatus == "" {
		c.LegacyFreeBusyStatus = ews.FreeBusyBusy
	}
	if !c.LegacyFreeBusyStatus.Valid() {
		return ewsserver.Failf(ews.ErrorInvalidRequest, "LegacyFreeBusyStatus %q is not valid.", c.LegacyFreeBusyStatus)
	}
	if c.Sensitivity == "" {
		c.Sensitivity = ews.SensitivityNormal
	}
	if c.MyResponseType == "" {
		if c.IsMeeting {
			c.MyResponseType = ews.ResponseAccept
		} else {
			c.MyResponseType = ews.ResponseOrganizer
		}
	}
	return nil
}

// createLocked stores a new item and returns it. Caller holds mb.mu.
func (mb *mailbox) createLocked(c ews.CalendarItem) (*item, error) {
	if err := ewsserver.ApplyExtendedProperties(&c); err != nil {
		return nil, err
	}
	if err := normalizeItem(&c); err != nil {
		return nil, err
	}
	now := mb.x.now()
	mb.itemSeq++
	it := &item{id: itemIDFor(mb.index, mb.itemSeq), version: 1, exceptions: map[int]*exception{}, deleted: map[int]bool{}}
	if c.UID == "" {
		c.UID = fmt.Sprintf("040000008200E00074C5B7101A82E008%08X%08X", mb.index, mb.itemSeq)
	}
	if c.Organizer == nil {
		c.Organizer = &ews.Mailbox{Name: mb.name, EmailAddress: mb.smtp, RoutingType: "SMTP", MailboxType: "Mailbox"}
	}
	c.DateTimeCreated, c.LastModifiedTime = now, now
	c.ItemId, c.ParentFolderId = ews.ItemId{}, ews.FolderId{}
	c.FirstOccurrence, c.LastOccurrence, c.ModifiedOccurrences, c.DeletedOccurrences = nil, nil, nil, nil
	it.data = c
	mb.seq++
	it.seq, it.createdSeq = mb.seq, mb.seq
	mb.items[it.id] = it
	mb.folderVersion++
	mb.x.subs.publishLocked(mb, changeEvents(mb, ews.EventCreated, it.ref(), now))
	return it, nil
}

// touchLocked records a modification of it.
func (mb *mailbox) touchLocked(it *item) {
	now := mb.x.now()
	it.version++
	it.data.LastModifiedTime = now
	mb.seq++
	it.seq = mb.seq
	mb.folderVersion++
	mb.x.subs.publishLocked(mb, changeEvents(mb, ews.EventModified, it.ref(), now))
}

// deleteLocked removes it.
func (mb *mailbox) deleteLocked(it *item) {
	now := mb.x.now()
	delete(mb.items, it.id)
	mb.seq++
	mb.tombstones[it.id] = tombstone{seq: mb.seq, createdSeq: it.createdSeq}
	mb.folderVersion++
	mb.x.subs.publishLocked(mb, changeEvents(mb, ews.EventDeleted, it.ref(), now))
}

// changeEvents is the burst one calendar change produces: the item event,
// the folder's ModifiedEvent and FreeBusyChangedEvent.
func changeEvents(mb *mailbox, kind ews.EventType, id ews.ItemId, now time.Time) []ews.Event {
	folder := mb.folderRef()
	root := mb.wellKnownRef(msgRootIndex) // the calendar's parent
	itemID, f1, f2 := id, folder, folder
	return []ews.Event{
		{Type: kind, TimeStamp: now, ItemId: &itemID, ParentFolderId: &f1, UnreadCount: -1},
		{Type: ews.EventModified, TimeStamp: now, FolderId: &f2, ParentFolderId: &root, UnreadCount: 0},
		{Type: ews.EventFreeBusyChanged, TimeStamp: now, ItemId: &itemID, ParentFolderId: &f1, UnreadCount: -1},
	}
}

// resolveLocked finds the item (and instance index for occurrences) a
// reference addresses in this mailbox.
func (mb *mailbox) resolveLocked(ref ews.ItemRef) (*item, int, error) {
	if err := ref.Validate(); err != nil {
		return nil, 0, ewsserver.Failf(ews.ErrorInvalidIdMalformed, "Id is malformed.")
	}
	switch {
	case ref.Occurrence != nil:
		it, err := mb.itemByIDLocked(ref.Occurrence.RecurringMasterId, true)
		if err != nil {
			return nil, 0, err
		}
		if it.data.Recurrence == nil {
			return nil, 0, ewsserver.Failf(ews.ErrorCalendarCannotUseIdForOccurrenceId, "The id is not a recurring master.")
		}
		if err := mb.checkInstanceLocked(it, ref.Occurrence.InstanceIndex); err != nil {
			return nil, 0, err
		}
		return it, ref.Occurrence.InstanceIndex, nil
	case ref.Master != nil:
		d, ok := decodeID(ref.Master.OccurrenceId)
		if !ok {
			return nil, 0, ewsserver.Failf(ews.ErrorInvalidIdMalformed, "Id is malformed.")
		}
		if d.kind != "O" {
			return nil, 0, ewsserver.Failf(ews.ErrorCalendarCannotUseIdForRecurringMasterId, "The id is not an occurrence id.")
		}
		it, err := mb.itemByIDLocked(itemIDFor(d.mailbox, d.item), true)
		return it, 0, err
	}
	d, ok := decodeID(ref.Item.Id)
	if !ok || d.kind == "F" {
		return nil, 0, ewsserver.Failf(ews.ErrorInvalidIdMalformed, "Id is malformed.")
	}
	if d.mailbox != mb.index {
		return nil, 0, ewsserver.Failf(ews.ErrorItemNotFound, "The specified object was not found in the store.")
	}
	if d.kind == "O" {
		it, err := mb.itemByIDLocked(itemIDFor(d.mailbox, d.item), false)
		if err != nil {
			return nil, 0, err
		}
		if err := mb.checkInstanceLocked(it, d.instance); err != nil {
			return nil, 0, err
		}
		return it, d.instance, nil
	}
	it, err := mb.itemByIDLocked(ref.Item.Id, false)
	return it, 0, err
}

func (mb *mailbox) itemByIDLocked(id string, mustParse bool) (*item, error) {
	d, ok := decodeID(id)
	if !ok {
		return nil, ewsserver.Failf(ews.ErrorInvalidIdMalformed, "Id is malformed.")
	}
	if d.kind != "I" && mustParse {
		return nil, ewsserver.Failf(ews.ErrorCalendarCannotUseIdForOccurrenceId, "The id is not an item id.")
	}
	it, found := mb.items[id]
	if !found || d.mailbox != mb.index {
		return nil, ewsserver.Failf(ews.ErrorItemNotFound, "The specified object was not found in the store.")
	}
	return it, nil
}

func (mb *mailbox) checkInstanceLocked(it *item, index int) error {
	if it.data.Recurrence == nil {
		return ewsserver.Failf(ews.ErrorItemNotFound, "The specified object was not found in the store.")
	}
	if it.deleted[index] {
		return ewsserver.Failf(ews.ErrorCalendarOccurrenceIsDeletedFromRecurrence, "Occurrence was deleted from the recurrence.")
	}
	_, ok, err := ewsserver.InstanceAt(it.data.Recurrence, it.data.Start, it.data.End.Sub(it.data.Start), it.data.IsAllDayEvent, it.location(), index)
	if err != nil || !ok {
		return ewsserver.Failf(ews.ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange, "Occurrence index is out of recurrence range.")
	}
	return nil
}

// viewLocked renders what a reference resolved to.
func (mb *mailbox) viewLocked(it *item, index int) ews.CalendarItem {
	if index == 0 {
		return mb.masterView(it)
	}
	in, _, _ := ewsserver.InstanceAt(it.data.Recurrence, it.data.Start, it.data.End.Sub(it.data.Start), it.data.IsAllDayEvent, it.location(), index)
	return mb.occurrenceView(it, in)
}

// updateLocked applies field updates to an item or one of its occurrences.
func (mb *mailbox) updateLocked(ref ews.ItemRef, updates []ewsserver.FieldUpdate, conflict string) (*item, int, error) {
	it, index, err := mb.resolveLocked(ref)
	if err != nil {
		return nil, 0, err
	}
	current := mb.viewLocked(it, index)
	if ck := refChangeKey(ref); ck != "" && ck != current.ItemId.ChangeKey && conflict == "NeverOverwrite" {
		return nil, 0, ewsserver.Failf(ews.ErrorIrresolvableConflict, "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.")
	}
	target := current
	for _, u := range updates {
		if err := applyField(&target, u); err != nil {
			return nil, 0, err
		}
	}
	if index == 0 {
		next := it.data
		copyFields(&next, &target, updates)
		if err := normalizeItem(&next); err != nil {
			return nil, 0, err
		}
		it.data = next
		mb.touchLocked(it)
		return it, 0, nil
	}
	for _, u := range updates {
		if u.FieldURI == "calendar:Recurrence" {
			return nil, 0, ewsserver.Failf(ews.ErrorCalendarCannotUpdateDeletedItem, "An occurrence cannot carry a recurrence.")
		}
	}
	if target.End.Before(target.Start) {
		return nil, 0, ewsserver.Failf(ews.ErrorCalendarEndDateIsEarlierThanStartDate, "The end date is earlier than the start date.")
	}
	if err := mb.checkOccurrenceMove(it, index, target.Start, target.End); err != nil {
		return nil, 0, err
	}
	ex := it.exceptions[index]
	if ex == nil {
		ex = &exception{}
		it.exceptions[index] = ex
	}
	ex.version++
	target.Start, target.End = target.Start.UTC(), target.End.UTC()
	ex.data = target
	mb.touchLocked(it)
	return it, index, nil
}

// applyField sets one field of c from an update.
func applyField(c *ews.CalendarItem, u ewsserver.FieldUpdate) error {
	if u.Extended != nil {
		if u.Delete {
			return ewsserver.DeleteExtendedProperty(c, *u.Extended)
		}
		return ewsserver.SetExtendedProperty(c, u.Property)
	}
	v := u.Value
	switch u.FieldURI {
	case "item:Subject":
		c.Subject = v.Subject
	case "item:Body":
		c.Body = v.Body
	case "item:Sensitivity":
		c.Sensitivity = v.Sensitivity
	case "item:Categories":
		c.Categories = v.Categories
	case "calendar:Start":
		c.Start = v.Start
	case "calendar:End":
		c.End = v.End
	case "calendar:IsAllDayEvent":
		c.IsAllDayEvent = v.IsAllDayEvent
	case "calendar:LegacyFreeBusyStatus":
		c.LegacyFreeBusyStatus = v.LegacyFreeBusyStatus
	case "calendar:Location":
		c.Location = v.Location
	case "calendar:IsCancelled":
		c.IsCancelled = v.IsCancelled
	case "calendar:MyResponseType":
		c.MyResponseType = v.MyResponseType
	case "calendar:Recurrence":
		c.Recurrence = v.Recurrence
	case "calendar:StartTimeZone", "calendar:EndTimeZone", "calendar:StartTimeZoneId", "calendar:EndTimeZoneId":
		if v.StartTimeZone != "" {
			c.StartTimeZone = v.StartTimeZone
		}
		if u.FieldURI == "calendar:EndTimeZone" && v.EndTimeZone != "" {
			c.StartTimeZone = v.EndTimeZone
		}
	case "calendar:UID":
		c.UID = v.UID
	default:
		if strings.HasPrefix(u.FieldURI, "item:") || strings.HasPrefix(u.FieldURI, "calendar:") {
			return nil // accepted, not modelled
		}
		return ewsserver.Failf(ews.ErrorInvalidPropertySet, "Property %s cannot be set.", u.FieldURI)
	}
	if u.Delete {
		switch u.FieldURI {
		case "calendar:Recurrence":
			c.Recurrence = nil
		case "item:Body":
			c.Body = nil
		case "calendar:Location":
			c.Location = ""
		}
	}
	return nil
}

// copyFields copies the updated fields from a rendered view back into the
// stored master data (the view carries computed fields we must not store).
// An extended property update carries its own value: it is applied again.
func copyFields(dst, src *ews.CalendarItem, updates []ewsserver.FieldUpdate) {
	for _, u := range updates {
		if u.Extended == nil {
			u.Value = *src
		}
		_ = applyField(dst, u)
	}
}

// deleteRefLocked deletes an item or one occurrence.
func (mb *mailbox) deleteRefLocked(ref ews.ItemRef) error {
	it, index, err := mb.resolveLocked(ref)
	if err != nil {
		return err
	}
	if index == 0 {
		mb.deleteLocked(it)
		return nil
	}
	delete(it.exceptions, index)
	it.deleted[index] = true
	mb.touchLocked(it)
	return nil
}

// AddCalendarItem stores an item in a mailbox's calendar, as CreateItem
// would, and returns its id.
func (x *Exchange) AddCalendarItem(smtp string, c ews.CalendarItem) (ews.ItemId, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return ews.ItemId{}, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	it, err := mb.createLocked(c)
	if err != nil {
		return ews.ItemId{}, err
	}
	return it.ref(), nil
}

// ModifyOccurrence turns occurrence index of a recurring master into an
// exception with the given fields (Subject, Start, End, Location,
// LegacyFreeBusyStatus, IsCancelled are taken from c).
func (x *Exchange) ModifyOccurrence(smtp, masterID string, index int, c ews.CalendarItem) error {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	updates := []ewsserver.FieldUpdate{}
	for _, f := range []string{"item:Subject", "calendar:Start", "calendar:End", "calendar:Location", "calendar:LegacyFreeBusyStatus", "calendar:IsCancelled"} {
		updates = append(updates, ewsserver.FieldUpdate{FieldURI: f, Value: c})
	}
	_, _, err := mb.updateLocked(ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: masterID, InstanceIndex: index}}, updates, "AlwaysOverwrite")
	return err
}

// DeleteOccurrence removes occurrence index from a recurring series.
func (x *Exchange) DeleteOccurrence(smtp, masterID string, index int) error {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.deleteRefLocked(ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: masterID, InstanceIndex: index}})
}

// SetOOF sets a mailbox's automatic-reply settings.
func (x *Exchange) SetOOF(smtp string, s ews.OofSettings) error {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	switch s.State {
	case ews.OofDisabled, ews.OofEnabled, ews.OofScheduled:
	default:
		return fmt.Errorf("ewsmem: OOF state %q", s.State)
	}
	if s.ExternalAudience == "" {
		s.ExternalAudience = ews.AudienceNone
	}
	mb.mu.Lock()
	mb.oof = s
	mb.mu.Unlock()
	return nil
}

// Occurrences returns the expanded ground truth of a mailbox's calendar in
// [from, to): what a CalendarView without limits returns.
func (x *Exchange) Occurrences(smtp string, from, to time.Time) ([]ews.CalendarItem, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.instancesBetween(from, to), nil
}

func refChangeKey(ref ews.ItemRef) string {
	switch {
	case ref.Item != nil:
		return ref.Item.ChangeKey
	case ref.Occurrence != nil:
		return ref.Occurrence.ChangeKey
	case ref.Master != nil:
		return ref.Master.ChangeKey
	}
	return ""
}
