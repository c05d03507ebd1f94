package webhook

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/calsync/calsync/events"
)

// Event types calsync delivers to webhooks (the event log's names).
const (
	// EventPresenceChanged: a user's published presence changed; Key is the user.
	EventPresenceChanged = events.PresenceChanged
	// EventSyncHealth: a mailbox's sync health changed; Key is the mailbox.
	EventSyncHealth = events.SyncHealth
)

// DefaultTimeout bounds one delivery attempt when Endpoint.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Endpoint is one receiver of webhook events.
type Endpoint struct {
	// Name identifies the endpoint in the outbox, logs and metrics. It must
	// stay stable across restarts: pending messages are stored under it.
	Name string
	// URL receives POST requests (http or https).
	URL string
	// Secret is the HMAC-SHA256 key. It is never logged nor put in errors.
	Secret string
	// Events lists the subscribed event types; empty subscribes to all.
	Events []string
	// Timeout bounds one attempt; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Subscribes reports whether the endpoint wants events of this type.
func (e Endpoint) Subscribes(eventType string) bool {
	return len(e.Events) == 0 || slices.Contains(e.Events, eventType)
}

// LogValue keeps the secret and any credentials in the URL out of logs.
func (e Endpoint) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", e.Name), slog.String("url", redactURL(e.URL)), slog.Any("events", e.Events))
}

// String describes the endpoint without its secret.
func (e Endpoint) String() string {
	return fmt.Sprintf("webhook endpoint %q (%s)", e.Name, redactURL(e.URL))
}

func (e Endpoint) validate() error {
	if e.Name == "" {
		return fmt.Errorf("webhook: endpoint without name")
	}
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook: endpoint %q: URL %q is not an absolute http(s) URL", e.Name, redactURL(e.URL))
	}
	if e.Secret == "" {
		return fmt.Errorf("webhook: endpoint %q has no secret; receivers could not verify deliveries", e.Name)
	}
	if e.Timeout < 0 {
		return fmt.Errorf("webhook: endpoint %q: negative timeout %s", e.Name, e.Timeout)
	}
	return nil
}

// redactURL hides a password in the URL and drops the query, which may
// hold a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	return u.Redacted()
}
