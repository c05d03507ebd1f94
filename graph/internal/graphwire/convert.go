package graphwire

import (
	"github.com/calsync/calsync/graph"
)

// ToEvent converts a wire event to the vocabulary; enumerations are made
// canonical (any casing accepted, unknown values kept).
func ToEvent(w Event) graph.Event {
	e := graph.Event{
		ID:                    w.ID,
		ETag:                  w.ODataETag,
		ChangeKey:             w.ChangeKey,
		ICalUID:               w.ICalUID,
		SeriesMasterID:        w.SeriesMasterID,
		Type:                  graph.ParseEventType(w.Type),
		Subject:               w.Subject,
		Categories:            w.Categories,
		OriginalStartTimeZone: w.OriginalStartTimeZone,
		ShowAs:                graph.ParseShowAs(w.ShowAs),
		Sensitivity:           graph.ParseSensitivity(w.Sensitivity),
		IsAllDay:              deref(w.IsAllDay),
		IsCancelled:           deref(w.IsCancelled),
		IsOrganizer:           deref(w.IsOrganizer),
		HasAttendees:          len(w.Attendees) > 0,
	}
	if w.Start != nil {
		e.Start = graph.DateTimeTimeZone(*w.Start)
	}
	if w.End != nil {
		e.End = graph.DateTimeTimeZone(*w.End)
	}
	if w.ResponseStatus != nil {
		e.Response = graph.ParseResponse(w.ResponseStatus.Response)
	}
	if w.Location != nil {
		e.Location = w.Location.DisplayName
	}
	if w.Organizer != nil {
		e.Organizer = w.Organizer.EmailAddress.Address
	}
	if w.LastModifiedDateTime != nil {
		e.LastModified = *w.LastModifiedDateTime
	}
	return e
}

// FromEvent converts a vocabulary event to the wire (the simulator's
// direction). Flags are always written, as Graph does for full events.
func FromEvent(e graph.Event) Event {
	w := Event{
		ODataETag:             e.ETag,
		ID:                    e.ID,
		ChangeKey:             e.ChangeKey,
		Categories:            e.Categories,
		ICalUID:               e.ICalUID,
		SeriesMasterID:        e.SeriesMasterID,
		Type:                  string(e.Type),
		Subject:               e.Subject,
		OriginalStartTimeZone: e.OriginalStartTimeZone,
		IsAllDay:              &e.IsAllDay,
		IsCancelled:           &e.IsCancelled,
		IsOrganizer:           &e.IsOrganizer,
		ShowAs:                string(e.ShowAs),
		Sensitivity:           string(e.Sensitivity),
	}
	if !e.Start.IsZero() {
		s := DateTimeTimeZone(e.Start)
		w.Start = &s
	}
	if !e.End.IsZero() {
		s := DateTimeTimeZone(e.End)
		w.End = &s
	}
	if e.Response != "" {
		w.ResponseStatus = &ResponseStatus{Response: string(e.Response)}
	}
	if e.Location != "" {
		w.Location = &Location{DisplayName: e.Location}
	}
	if e.Organizer != "" {
		w.Organizer = &Recipient{EmailAddress: EmailAddress{Address: e.Organizer}}
	}
	if !e.LastModified.IsZero() {
		t := e.LastModified
		w.LastModifiedDateTime = &t
	}
	return w
}

// ToPage splits a wire page into events and @removed entries.
func ToPage(p EventPage) graph.Page {
	out := graph.Page{NextLink: p.NextLink, DeltaLink: p.DeltaLink}
	for _, w := range p.Value {
		if w.Removed != nil {
			out.Removed = append(out.Removed, graph.Removed{ID: w.ID, Reason: w.Removed.Reason})
			continue
		}
		out.Events = append(out.Events, ToEvent(w))
	}
	return out
}

// RemovedEntry returns the wire entry of a removed event, as delta sends
// it: type, id and @removed only.
func RemovedEntry(id, reason string) Event {
	return Event{ODataType: ODataTypeEvent, ID: id, Removed: &Removed{Reason: reason}}
}

// ToMailboxSettings converts mailboxSettings to the vocabulary.
func ToMailboxSettings(w MailboxSettings) graph.MailboxSettings {
	m := graph.MailboxSettings{TimeZone: w.TimeZone}
	if a := w.AutomaticRepliesSetting; a != nil {
		m.AutomaticReplies = graph.AutomaticReplies{
			Status:               graph.ParseAutoRepliesStatus(a.Status),
			ExternalAudience:     graph.ParseExternalAudience(a.ExternalAudience),
			InternalReplyMessage: a.InternalReplyMessage,
			ExternalReplyMessage: a.ExternalReplyMessage,
		}
		if a.ScheduledStartDateTime != nil {
			m.AutomaticReplies.ScheduledStart = graph.DateTimeTimeZone(*a.ScheduledStartDateTime)
		}
		if a.ScheduledEndDateTime != nil {
			m.AutomaticReplies.ScheduledEnd = graph.DateTimeTimeZone(*a.ScheduledEndDateTime)
		}
	}
	if h := w.WorkingHours; h != nil {
		wh := &graph.WorkingHours{DaysOfWeek: h.DaysOfWeek, StartTime: h.StartTime, EndTime: h.EndTime}
		if h.TimeZone != nil {
			wh.TimeZone = h.TimeZone.Name
		}
		m.WorkingHours = wh
	}
	return m
}

// FromMailboxSettings converts the vocabulary to mailboxSettings.
func FromMailboxSettings(m graph.MailboxSettings) MailboxSettings {
	a := m.AutomaticReplies
	w := MailboxSettings{
		TimeZone: m.TimeZone,
		AutomaticRepliesSetting: &AutomaticRepliesSetting{
			Status:               string(a.Status),
			ExternalAudience:     string(a.ExternalAudience),
			InternalReplyMessage: a.InternalReplyMessage,
			ExternalReplyMessage: a.ExternalReplyMessage,
		},
	}
	if !a.ScheduledStart.IsZero() {
		s := DateTimeTimeZone(a.ScheduledStart)
		w.AutomaticRepliesSetting.ScheduledStartDateTime = &s
	}
	if !a.ScheduledEnd.IsZero() {
		s := DateTimeTimeZone(a.ScheduledEnd)
		w.AutomaticRepliesSetting.ScheduledEndDateTime = &s
	}
	if h := m.WorkingHours; h != nil {
		w.WorkingHours = &WorkingHours{DaysOfWeek: h.DaysOfWeek, StartTime: h.StartTime, EndTime: h.EndTime}
		if h.TimeZone != "" {
			w.WorkingHours.TimeZone = &TimeZoneBase{Name: h.TimeZone}
		}
	}
	return w
}

// ToSubscription converts a wire subscription.
func ToSubscription(w Subscription) graph.Subscription {
	return graph.Subscription{
		ID:                       w.ID,
		Resource:                 w.Resource,
		ChangeType:               w.ChangeType,
		NotificationURL:          w.NotificationURL,
		LifecycleNotificationURL: w.LifecycleNotificationURL,
		Expiration:               w.ExpirationDateTime,
		ClientState:              w.ClientState,
	}
}

// FromSubscription converts a vocabulary subscription.
func FromSubscription(s graph.Subscription) Subscription {
	return Subscription{
		ID:                       s.ID,
		Resource:                 s.Resource,
		ChangeType:               s.ChangeType,
		NotificationURL:          s.NotificationURL,
		LifecycleNotificationURL: s.LifecycleNotificationURL,
		ExpirationDateTime:       s.Expiration,
		ClientState:              s.ClientState,
	}
}

// ToNotifications converts a notification POST body.
func ToNotifications(c ChangeNotificationCollection) []graph.Notification {
	out := make([]graph.Notification, 0, len(c.Value))
	for _, w := range c.Value {
		n := graph.Notification{
			SubscriptionID:         w.SubscriptionID,
			SubscriptionExpiration: w.SubscriptionExpirationDateTime,
			ChangeType:             graph.ChangeType(w.ChangeType),
			ClientState:            w.ClientState,
			Resource:               w.Resource,
			TenantID:               w.TenantID,
		}
		if w.LifecycleEvent != "" {
			n.Lifecycle = graph.ParseLifecycleEvent(w.LifecycleEvent)
		}
		if w.ResourceData != nil {
			n.ResourceID = w.ResourceData.ID
		}
		out = append(out, n)
	}
	return out
}

// FromNotification converts one vocabulary notification (the simulator's
// delivery).
func FromNotification(n graph.Notification) ChangeNotification {
	w := ChangeNotification{
		SubscriptionID:                 n.SubscriptionID,
		SubscriptionExpirationDateTime: n.SubscriptionExpiration,
		ChangeType:                     string(n.ChangeType),
		LifecycleEvent:                 string(n.Lifecycle),
		ClientState:                    n.ClientState,
		Resource:                       n.Resource,
		TenantID:                       n.TenantID,
	}
	if n.ResourceID != "" {
		w.ResourceData = &ResourceData{ODataType: ODataTypeEvent, ID: n.ResourceID}
	}
	return w
}

// NewErrorBody returns the error envelope for code and message.
func NewErrorBody(code graph.ErrorCode, message, requestID, date string) ErrorBody {
	b := ErrorBody{Error: ErrorDetail{Code: string(code), Message: message}}
	if requestID != "" || date != "" {
		b.Error.InnerError = &InnerError{RequestID: requestID, ClientRequestID: requestID, Date: date}
	}
	return b
}

func deref(b *bool) bool { return b != nil && *b }
