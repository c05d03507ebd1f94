package graphclient

import (
	"context"
	"net/url"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// AutoRepliesResult is one mailbox's automaticRepliesSetting, or its error.
type AutoRepliesResult struct {
	Settings graph.AutomaticReplies
	Err      error
}

// AutomaticReplies reads the automaticRepliesSetting of up to 20 mailboxes
// in one $batch (Graph has no notifications for mailbox settings, so they
// are polled, and a batch saves 19 round trips). One result per mailbox,
// in order; a mailbox's own failure is in its Err.
func (c *Client) AutomaticReplies(ctx context.Context, mailboxes []string) ([]AutoRepliesResult, error) {
	items := make([]BatchItem, len(mailboxes))
	for i, m := range mailboxes {
		items[i] = BatchItem{Path: "/users/" + url.PathEscape(m) + "/mailboxSettings/automaticRepliesSetting"}
	}
	res, err := c.Batch(ctx, items)
	if err != nil {
		return nil, err
	}
	out := make([]AutoRepliesResult, len(res))
	for i, r := range res {
		if r.Err != nil {
			out[i].Err = r.Err
			continue
		}
		var w graphwire.AutomaticRepliesSetting
		if err := decode("$batch automaticRepliesSetting", r.Body, &w); err != nil {
			out[i].Err = err
			continue
		}
		out[i].Settings = graphwire.ToMailboxSettings(graphwire.MailboxSettings{AutomaticRepliesSetting: &w}).AutomaticReplies
	}
	return out, nil
}
