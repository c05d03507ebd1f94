package ewsmem

import (
	"fmt"
	"sort"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// Direct access to the model for the simulator's control API, its
// generator and churn, and for tests: the same state changes EWS writes
// make (with notifications and sync changes), without a request.

// ItemChange lists the fields of a calendar item (or one occurrence) to
// change; nil fields stay as they are.
type ItemChange struct {
	Subject     *string
	Location    *string
	Start       *time.Time
	End         *time.Time
	FreeBusy    *ews.FreeBusyStatus
	Sensitivity *ews.Sensitivity
	Cancelled   *bool
}

// updates turns the change into the FieldUpdates UpdateItem would carry.
func (ch ItemChange) updates() []ewsserver.FieldUpdate {
	var v ews.CalendarItem
	var uris []string
	set := func(uri string, ok bool) {
		if ok {
			uris = append(uris, uri)
		}
	}
	if ch.Subject != nil {
		v.Subject = *ch.Subject
	}
	set("item:Subject", ch.Subject != nil)
	if ch.Location != nil {
		v.Location = *ch.Location
	}
	set("calendar:Location", ch.Location != nil)
	if ch.Start != nil {
		v.Start = *ch.Start
	}
	set("calendar:Start", ch.Start != nil)
	if ch.End != nil {
		v.End = *ch.End
	}
	set("calendar:End", ch.End != nil)
	if ch.FreeBusy != nil {
		v.LegacyFreeBusyStatus = *ch.FreeBusy
	}
	set("calendar:LegacyFreeBusyStatus", ch.FreeBusy != nil)
	if ch.Sensitivity != nil {
		v.Sensitivity = *ch.Sensitivity
	}
	set("item:Sensitivity", ch.Sensitivity != nil)
	if ch.Cancelled != nil {
		v.IsCancelled = *ch.Cancelled
	}
	set("calendar:IsCancelled", ch.Cancelled != nil)
	out := make([]ewsserver.FieldUpdate, len(uris))
	for i, u := range uris {
		out[i] = ewsserver.FieldUpdate{FieldURI: u, Value: v}
	}
	return out
}

// UpdateCalendarItem applies a change to an item, a recurring master (the
// whole series) or one occurrence (ref.Occurrence), as UpdateItem with
// AlwaysOverwrite does, and returns the id of what it changed.
func (x *Exchange) UpdateCalendarItem(smtp string, ref ews.ItemRef, ch ItemChange) (ews.ItemId, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return ews.ItemId{}, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	updates := ch.updates()
	if len(updates) == 0 {
		return ews.ItemId{}, fmt.Errorf("ewsmem: the change names no field")
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	it, index, err := mb.updateLocked(ref, updates, "AlwaysOverwrite")
	if err != nil {
		return ews.ItemId{}, err
	}
	return mb.viewLocked(it, index).ItemId, nil
}

// DeleteCalendarItem deletes an item, a whole series (its master) or one
// occurrence (ref.Occurrence), as DeleteItem does.
func (x *Exchange) DeleteCalendarItem(smtp string, ref ews.ItemRef) error {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.deleteRefLocked(ref)
}

// CalendarItems returns the stored items of a mailbox's calendar (single
// items and recurring masters, not expanded), ordered by id.
func (x *Exchange) CalendarItems(smtp string) ([]ews.CalendarItem, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	ids := make([]string, 0, len(mb.items))
	for id := range mb.items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]ews.CalendarItem, len(ids))
	for i, id := range ids {
		out[i] = mb.masterView(mb.items[id])
	}
	return out, nil
}

// OOF returns a mailbox's automatic-reply settings as stored.
func (x *Exchange) OOF(smtp string) (ews.OofSettings, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return ews.OofSettings{}, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	s := mb.oof
	if s.State == "" {
		s.State = ews.OofDisabled
	}
	return s, nil
}

// DisplayName returns a mailbox's display name.
func (x *Exchange) DisplayName(smtp string) (string, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	return mb.name, nil
}
