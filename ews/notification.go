package ews

import "time"

// EventType is t:NotificationEventTypeType plus the server-generated
// StatusEvent, named like the event elements.
type EventType string

// EventType values. StatusEvent cannot be subscribed to.
const (
	EventCopied          EventType = "CopiedEvent"
	EventCreated         EventType = "CreatedEvent"
	EventDeleted         EventType = "DeletedEvent"
	EventModified        EventType = "ModifiedEvent"
	EventMoved           EventType = "MovedEvent"
	EventNewMail         EventType = "NewMailEvent"
	EventFreeBusyChanged EventType = "FreeBusyChangedEvent"
	EventStatus          EventType = "StatusEvent"
)

// Subscribable reports whether t may appear in a Subscribe request.
func (t EventType) Subscribable() bool {
	switch t {
	case EventCopied, EventCreated, EventDeleted, EventModified, EventMoved, EventNewMail, EventFreeBusyChanged:
		return true
	}
	return false
}

// Valid reports whether t is a known event type (including StatusEvent).
func (t EventType) Valid() bool { return t == EventStatus || t.Subscribable() }

// Event is one notification event (t:BaseNotificationEventType and its
// subtypes). Exactly one of ItemId/FolderId is set for object events; a
// StatusEvent carries only Watermark. Streaming events usually omit
// Watermark.
type Event struct {
	Type              EventType
	Watermark         string
	TimeStamp         time.Time
	ItemId            *ItemId
	FolderId          *FolderId
	ParentFolderId    *FolderId
	OldItemId         *ItemId
	OldFolderId       *FolderId
	OldParentFolderId *FolderId
	// UnreadCount is set by ModifiedEvent on folders; -1 means absent.
	UnreadCount int
}

// Notification is a batch of events for one subscription
// (t:NotificationType).
type Notification struct {
	SubscriptionId    string
	PreviousWatermark string
	MoreEvents        bool
	Events            []Event
}

// LastWatermark returns the watermark of the last event that carries one,
// or "" if none does.
func (n *Notification) LastWatermark() string {
	for i := len(n.Events) - 1; i >= 0; i-- {
		if n.Events[i].Watermark != "" {
			return n.Events[i].Watermark
		}
	}
	return ""
}

// ConnectionStatus is m:ConnectionStatusType of a GetStreamingEvents
// envelope.
type ConnectionStatus string

// ConnectionStatus values.
const (
	ConnectionOK     ConnectionStatus = "OK"
	ConnectionClosed ConnectionStatus = "Closed"
)

// SubscriptionKind selects pull, push or streaming notifications.
type SubscriptionKind string

// SubscriptionKind values.
const (
	SubscriptionPull      SubscriptionKind = "Pull"
	SubscriptionPush      SubscriptionKind = "Push"
	SubscriptionStreaming SubscriptionKind = "Streaming"
)

// PushStatus is the listener's answer to a push notification
// (m:SubscriptionStatusType).
type PushStatus string

// PushStatus values.
const (
	PushOK          PushStatus = "OK"
	PushUnsubscribe PushStatus = "Unsubscribe"
)
