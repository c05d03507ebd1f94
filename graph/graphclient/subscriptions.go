package graphclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// EventsResource returns the subscription resource for a mailbox's events.
func EventsResource(mailbox string) string { return "/users/" + url.PathEscape(mailbox) + "/events" }

// CreateSubscription creates a change-notification subscription (Graph
// validates NotificationURL, and LifecycleNotificationURL if set, with a
// handshake before it answers; a failed handshake is a 400). mailbox gates
// the call; ChangeType defaults to "created,updated,deleted".
func (c *Client) CreateSubscription(ctx context.Context, mailbox string, s graph.Subscription) (graph.Subscription, error) {
	const op = "createSubscription"
	if s.Resource == "" || s.NotificationURL == "" || s.Expiration.IsZero() {
		return graph.Subscription{}, errors.New("graphclient: " + op + ": resource, notification URL and expiration are required")
	}
	if len(s.ClientState) > 128 {
		return graph.Subscription{}, fmt.Errorf("graphclient: %s: clientState is %d characters; Graph allows 128", op, len(s.ClientState))
	}
	if s.ChangeType == "" {
		s.ChangeType = "created,updated,deleted"
	}
	w := graphwire.FromSubscription(s)
	w.ID = ""
	body, err := json.Marshal(w)
	if err != nil {
		return graph.Subscription{}, err
	}
	resp, err := c.send(ctx, request{op: op, mailbox: mailbox, method: http.MethodPost, url: c.base.String() + "/subscriptions", body: body})
	if err != nil {
		return graph.Subscription{}, err
	}
	return subscriptionOf(op, resp.body)
}

// RenewSubscription moves a subscription's expiration (PATCH).
func (c *Client) RenewSubscription(ctx context.Context, mailbox, id string, expiration time.Time) (graph.Subscription, error) {
	const op = "renewSubscription"
	if id == "" {
		return graph.Subscription{}, errors.New("graphclient: " + op + ": empty subscription id")
	}
	body, err := json.Marshal(graphwire.Subscription{ExpirationDateTime: expiration.UTC()})
	if err != nil {
		return graph.Subscription{}, err
	}
	resp, err := c.send(ctx, request{op: op, mailbox: mailbox, method: http.MethodPatch, url: c.subscriptionURL(id), body: body})
	if err != nil {
		return graph.Subscription{}, err
	}
	return subscriptionOf(op, resp.body)
}

// DeleteSubscription ends a subscription; one already gone (404) is not
// an error.
func (c *Client) DeleteSubscription(ctx context.Context, mailbox, id string) error {
	const op = "deleteSubscription"
	if id == "" {
		return errors.New("graphclient: " + op + ": empty subscription id")
	}
	_, err := c.send(ctx, request{op: op, mailbox: mailbox, method: http.MethodDelete, url: c.subscriptionURL(id)})
	if graph.StatusOf(err) == http.StatusNotFound {
		return nil
	}
	return err
}

func (c *Client) subscriptionURL(id string) string {
	return c.base.String() + "/subscriptions/" + url.PathEscape(id)
}

func subscriptionOf(op string, body []byte) (graph.Subscription, error) {
	var w graphwire.Subscription
	if err := decode(op, body, &w); err != nil {
		return graph.Subscription{}, err
	}
	if w.ID == "" {
		return graph.Subscription{}, &graph.ProtocolError{Op: op, Err: errors.New("subscription without id")}
	}
	return graphwire.ToSubscription(w), nil
}
