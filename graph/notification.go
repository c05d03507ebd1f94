package graph

import "time"

// Subscription is a change-notification subscription.
type Subscription struct {
	ID                       string
	Resource                 string // "/users/{id}/events"
	ChangeType               string // "created,updated,deleted"
	NotificationURL          string
	LifecycleNotificationURL string
	Expiration               time.Time
	// ClientState is echoed in every notification; ≤128 characters.
	ClientState string
}

// Notification is one item of a change-notification POST: a change
// (ChangeType set) or a lifecycle event (Lifecycle set). Notifications are
// hints: they carry no event content, so the receiver re-reads.
type Notification struct {
	SubscriptionID         string
	SubscriptionExpiration time.Time
	ChangeType             ChangeType
	Lifecycle              LifecycleEvent
	ClientState            string
	Resource               string
	TenantID               string
	// ResourceID is resourceData.id, the event id.
	ResourceID string
}
