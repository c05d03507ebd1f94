package graphwire

import "time"

// Subscription is the subscription resource (POST /subscriptions body and
// answer, PATCH body with only ExpirationDateTime).
type Subscription struct {
	ODataContext              string    `json:"@odata.context,omitempty"`
	ID                        string    `json:"id,omitempty"`
	Resource                  string    `json:"resource,omitempty"`
	ApplicationID             string    `json:"applicationId,omitempty"`
	ChangeType                string    `json:"changeType,omitempty"`
	ClientState               string    `json:"clientState,omitempty"`
	NotificationURL           string    `json:"notificationUrl,omitempty"`
	LifecycleNotificationURL  string    `json:"lifecycleNotificationUrl,omitempty"`
	ExpirationDateTime        time.Time `json:"expirationDateTime,omitzero"`
	CreatorID                 string    `json:"creatorId,omitempty"`
	LatestSupportedTLSVersion string    `json:"latestSupportedTlsVersion,omitempty"`
	IncludeResourceData       *bool     `json:"includeResourceData,omitempty"`
}

// ChangeNotificationCollection is the body Graph POSTs to a
// notificationUrl or lifecycleNotificationUrl.
type ChangeNotificationCollection struct {
	Value            []ChangeNotification `json:"value"`
	ValidationTokens []string             `json:"validationTokens,omitempty"`
}

// ChangeNotification is one change or lifecycle notification: changeType
// and resourceData for a change, lifecycleEvent for a lifecycle event.
type ChangeNotification struct {
	ID                             string        `json:"id,omitempty"`
	SubscriptionID                 string        `json:"subscriptionId"`
	SubscriptionExpirationDateTime time.Time     `json:"subscriptionExpirationDateTime,omitzero"`
	ChangeType                     string        `json:"changeType,omitempty"`
	LifecycleEvent                 string        `json:"lifecycleEvent,omitempty"`
	ClientState                    string        `json:"clientState,omitempty"`
	Resource                       string        `json:"resource,omitempty"`
	TenantID                       string        `json:"tenantId,omitempty"`
	ResourceData                   *ResourceData `json:"resourceData,omitempty"`
}

// ResourceData names the changed event; it carries no content.
type ResourceData struct {
	ODataType string `json:"@odata.type,omitempty"`
	ODataID   string `json:"@odata.id,omitempty"`
	ODataETag string `json:"@odata.etag,omitempty"`
	ID        string `json:"id,omitempty"`
}
