package graphclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// readPages follows a collection from first through every @odata.nextLink
// (whole URLs, never rebuilt) until a page has none, handing each page to
// visit. Empty pages are normal. A link to another host, a link seen
// before or more than MaxPages pages end the read with a
// *graph.ProtocolError.
func (c *Client) readPages(ctx context.Context, op, mailbox, first string, prefer []string, visit func(graphwire.EventPage) error) error {
	seen := map[string]bool{}
	link := first
	for n := 0; ; n++ {
		if n >= c.maxPages {
			return &graph.ProtocolError{Op: op, Err: fmt.Errorf("more than %d pages; stopped following nextLink", c.maxPages)}
		}
		resp, err := c.send(ctx, request{op: op, mailbox: mailbox, method: http.MethodGet, url: link, prefer: prefer})
		if err != nil {
			return err
		}
		var page graphwire.EventPage
		if err := decode(op, resp.body, &page); err != nil {
			return err
		}
		for i, e := range page.Value {
			if e.ID == "" {
				return &graph.ProtocolError{Op: op, Err: fmt.Errorf("value[%d] (page %d) has no id", i, n+1)}
			}
		}
		if err := visit(page); err != nil {
			return err
		}
		if page.NextLink == "" {
			return nil
		}
		if err := c.checkLink(page.NextLink); err != nil {
			return &graph.ProtocolError{Op: op, Err: fmt.Errorf("@odata.nextLink: %w", err)}
		}
		if seen[page.NextLink] {
			return &graph.ProtocolError{Op: op, Err: fmt.Errorf("@odata.nextLink repeats an earlier page")}
		}
		seen[page.NextLink] = true
		link = page.NextLink
	}
}
