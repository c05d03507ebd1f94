package graphclient

import (
	"context"
	"errors"
	"net/http"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// MailboxSettings reads /users/{mailbox}/mailboxSettings: automatic
// replies and time zone (and working hours). Graph has no notifications
// for them: poll.
func (c *Client) MailboxSettings(ctx context.Context, mailbox string) (graph.MailboxSettings, error) {
	const op = "mailboxSettings"
	if mailbox == "" {
		return graph.MailboxSettings{}, errors.New("graphclient: " + op + ": empty mailbox")
	}
	resp, err := c.send(ctx, request{op: op, mailbox: mailbox, method: http.MethodGet, url: c.userURL(mailbox, "/mailboxSettings", nil)})
	if err != nil {
		return graph.MailboxSettings{}, err
	}
	var w graphwire.MailboxSettings
	if err := decode(op, resp.body, &w); err != nil {
		return graph.MailboxSettings{}, err
	}
	return graphwire.ToMailboxSettings(w), nil
}
