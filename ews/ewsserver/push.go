package ewsserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// PushPoster sends push notifications (m:SendNotification) to listeners
// with the shared codec and reads their m:SendNotificationResult.
type PushPoster struct {
	// Client posts the notifications (default http.DefaultClient).
	Client *http.Client
	// ServerVersion goes into the envelope header (default DefaultServerVersion).
	ServerVersion *ews.ServerVersionInfo
}

// SendNotification posts one notification and returns the listener's
// SubscriptionStatus.
func (p *PushPoster) SendNotification(ctx context.Context, url string, n ews.Notification) (ews.PushStatus, error) {
	v := DefaultServerVersion
	if p.ServerVersion != nil {
		v = *p.ServerVersion
	}
	body := &ewswire.SendNotification{}
	body.ResponseMessages.Messages = []ewswire.SendNotificationResponseMessage{{ResponseMessage: ewswire.Success(), Notification: ewswire.NotificationFrom(n)}}
	data, err := ewswire.Marshal(&ewswire.Header{ServerVersionInfo: ewswire.ServerVersionInfoFrom(v)}, body)
	if err != nil {
		return "", fmt.Errorf("ewsserver: push: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("ewsserver: push: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("ewsserver: push: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ewsserver: push: listener answered HTTP %d", resp.StatusCode)
	}
	var result ewswire.SendNotificationResult
	if _, err := ewswire.DecodeEnvelope(resp.Body, ewswire.DefaultLimits, ewswire.Expect(&result)); err != nil {
		return "", fmt.Errorf("ewsserver: push: listener answer: %w", err)
	}
	switch s := ews.PushStatus(strings.TrimSpace(result.SubscriptionStatus)); s {
	case ews.PushOK, ews.PushUnsubscribe:
		return s, nil
	default:
		return "", fmt.Errorf("ewsserver: push: listener answered SubscriptionStatus %q", result.SubscriptionStatus)
	}
}
