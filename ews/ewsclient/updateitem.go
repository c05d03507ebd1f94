package ewsclient

import (
	"context"
	"fmt"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// FieldChange sets or deletes one calendar property in UpdateItem. Build
// it with the Set… and DeleteField constructors.
type FieldChange struct {
	uri string
	ext *ews.ExtendedFieldURI
	del bool
	set func(*ewswire.CalendarItem) error
}

// FieldURI returns the property the change applies to (an extended
// property's path in brackets).
func (f FieldChange) FieldURI() string {
	if f.ext != nil {
		return f.ext.String()
	}
	return f.uri
}

// SetExtendedProperty sets a MAPI property by path (SetItemField with
// t:ExtendedFieldURI), for example ews.PidLidAppointmentStateFlags.
func SetExtendedProperty(p ews.ExtendedProperty) FieldChange {
	f := p.Field
	return FieldChange{ext: &f, set: func(c *ewswire.CalendarItem) error {
		if err := p.Check(); err != nil {
			return err
		}
		c.ExtendedProperty = []ewswire.ExtendedProperty{ewswire.ExtendedPropertyFrom(p)}
		return nil
	}}
}

// DeleteExtendedProperty removes a MAPI property by path.
func DeleteExtendedProperty(f ews.ExtendedFieldURI) FieldChange {
	return FieldChange{ext: &f, del: true}
}

// SetSubject sets item:Subject.
func SetSubject(s string) FieldChange {
	return FieldChange{uri: "item:Subject", set: func(c *ewswire.CalendarItem) error { c.Subject = &s; return nil }}
}

// SetLocation sets calendar:Location.
func SetLocation(s string) FieldChange {
	return FieldChange{uri: "calendar:Location", set: func(c *ewswire.CalendarItem) error { c.Location = &s; return nil }}
}

// SetStart sets calendar:Start.
func SetStart(t time.Time) FieldChange {
	return FieldChange{uri: "calendar:Start", set: func(c *ewswire.CalendarItem) error {
		if t.IsZero() {
			return fmt.Errorf("zero Start")
		}
		c.Start = ewswire.NewDateTime(t)
		return nil
	}}
}

// SetEnd sets calendar:End.
func SetEnd(t time.Time) FieldChange {
	return FieldChange{uri: "calendar:End", set: func(c *ewswire.CalendarItem) error {
		if t.IsZero() {
			return fmt.Errorf("zero End")
		}
		c.End = ewswire.NewDateTime(t)
		return nil
	}}
}

// SetAllDay sets calendar:IsAllDayEvent.
func SetAllDay(b bool) FieldChange {
	return FieldChange{uri: "calendar:IsAllDayEvent", set: func(c *ewswire.CalendarItem) error { c.IsAllDayEvent = &b; return nil }}
}

// SetFreeBusy sets calendar:LegacyFreeBusyStatus.
func SetFreeBusy(s ews.FreeBusyStatus) FieldChange {
	return FieldChange{uri: "calendar:LegacyFreeBusyStatus", set: func(c *ewswire.CalendarItem) error {
		if !s.Valid() {
			return fmt.Errorf("unknown LegacyFreeBusyStatus %q", s)
		}
		c.LegacyFreeBusyStatus = string(s)
		return nil
	}}
}

// SetSensitivity sets item:Sensitivity.
func SetSensitivity(s ews.Sensitivity) FieldChange {
	return FieldChange{uri: "item:Sensitivity", set: func(c *ewswire.CalendarItem) error {
		if !s.Valid() {
			return fmt.Errorf("unknown Sensitivity %q", s)
		}
		c.Sensitivity = string(s)
		return nil
	}}
}

// SetCategories sets item:Categories.
func SetCategories(cats ...string) FieldChange {
	return FieldChange{uri: "item:Categories", set: func(c *ewswire.CalendarItem) error {
		c.Categories = &ewswire.StringArray{String: cats}
		return nil
	}}
}

// SetBody sets item:Body as text.
func SetBody(text string) FieldChange {
	return FieldChange{uri: "item:Body", set: func(c *ewswire.CalendarItem) error {
		c.Body = &ewswire.Body{BodyType: string(ews.BodyText), Text: text}
		return nil
	}}
}

// SetRecurrence sets calendar:Recurrence of a master.
func SetRecurrence(r ews.Recurrence) FieldChange {
	return FieldChange{uri: "calendar:Recurrence", set: func(c *ewswire.CalendarItem) error {
		w, err := ewswire.RecurrenceFrom(r)
		c.Recurrence = w
		return err
	}}
}

// SetStartTimeZone sets calendar:StartTimeZone (Windows zone id).
func SetStartTimeZone(id string) FieldChange {
	return FieldChange{uri: "calendar:StartTimeZone", set: func(c *ewswire.CalendarItem) error {
		c.StartTimeZone = &ewswire.TimeZoneDefinition{Id: id}
		return nil
	}}
}

// DeleteField removes a property (for example "calendar:Recurrence").
func DeleteField(fieldURI string) FieldChange { return FieldChange{uri: fieldURI, del: true} }

// ItemUpdate changes one item: a plain id, an occurrence by index or the
// master of an occurrence.
type ItemUpdate struct {
	Item    ews.ItemRef
	Changes []FieldChange
}

// ConflictResolution is the UpdateItem ConflictResolution attribute.
type ConflictResolution string

// ConflictResolution values.
const (
	NeverOverwrite  ConflictResolution = "NeverOverwrite"
	AutoResolve     ConflictResolution = "AutoResolve"
	AlwaysOverwrite ConflictResolution = "AlwaysOverwrite"
)

// UpdateItemRequest updates calendar items.
type UpdateItemRequest struct {
	Updates []ItemUpdate
	// ConflictResolution defaults to AutoResolve.
	ConflictResolution ConflictResolution
	// SendMeetingInvitationsOrCancellations defaults to SendToNone.
	SendMeetingInvitationsOrCancellations SendInvitations
}

// UpdateItem applies the updates; results (new ids with new ChangeKeys) are
// in input order.
func (c *Client) UpdateItem(ctx context.Context, call Call, req UpdateItemRequest) ([]IdResult, error) {
	const op = "UpdateItem"
	if len(req.Updates) == 0 || len(req.Updates) > MaxGetItemBatch {
		return nil, fmt.Errorf("ewsclient: UpdateItem: %d updates, want 1..%d", len(req.Updates), MaxGetItemBatch)
	}
	cr := req.ConflictResolution
	if cr == "" {
		cr = AutoResolve
	}
	send := req.SendMeetingInvitationsOrCancellations
	if send == "" {
		send = SendToNone
	}
	w := &ewswire.UpdateItem{ConflictResolution: string(cr), SendMeetingInvitationsOrCancellations: string(send)}
	for i, u := range req.Updates {
		ref, err := ewswire.ItemRefFrom(u.Item)
		if err != nil {
			return nil, fmt.Errorf("ewsclient: UpdateItem: update %d: %w", i, err)
		}
		if len(u.Changes) == 0 {
			return nil, fmt.Errorf("ewsclient: UpdateItem: update %d has no changes", i)
		}
		ch := ewswire.ItemChange{Item: ref}
		for _, f := range u.Changes {
			var ext *ewswire.ExtendedFieldURI
			if f.ext != nil {
				if _, err := f.ext.Key(); err != nil {
					return nil, fmt.Errorf("ewsclient: UpdateItem: update %d: %w", i, err)
				}
				w := ewswire.ExtendedFieldURIFrom(*f.ext)
				ext = &w
			}
			if f.del {
				ch.Updates = append(ch.Updates, ewswire.FieldUpdate{Kind: "DeleteItemField", FieldURI: f.uri, ExtendedField: ext})
				continue
			}
			if f.set == nil {
				return nil, fmt.Errorf("ewsclient: UpdateItem: update %d: empty field change", i)
			}
			item := &ewswire.CalendarItem{}
			if err := f.set(item); err != nil {
				return nil, fmt.Errorf("ewsclient: UpdateItem: update %d: %s: %w", i, f.FieldURI(), err)
			}
			ch.Updates = append(ch.Updates, ewswire.FieldUpdate{Kind: "SetItemField", FieldURI: f.uri, ExtendedField: ext, Item: item})
		}
		w.ItemChanges.ItemChange = append(w.ItemChanges.ItemChange, ch)
	}
	var resp ewswire.UpdateItemResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := ewswire.CheckCount(op, len(msgs), len(req.Updates)); err != nil {
		return nil, err
	}
	infos := make([]ewswire.ItemInfoResponseMessage, len(msgs))
	for i := range msgs {
		infos[i] = ewswire.ItemInfoResponseMessage{ResponseMessage: msgs[i].ResponseMessage, Items: msgs[i].Items}
	}
	return idResults(op, infos), nil
}
