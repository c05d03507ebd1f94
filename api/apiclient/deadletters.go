package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/calsync/calsync/api"
)

// DeadLettersOptions filters and pages GET /api/v1/webhooks/dead-letters.
type DeadLettersOptions struct {
	// Endpoint keeps one endpoint's dead letters; empty means all.
	Endpoint string
	// Limit is the page size (1-1000); 0 leaves the server's default.
	Limit int
	// After is the NextAfter of the previous page; 0 starts at the oldest.
	After uint64
}

// DeadLetters returns one page of dead-lettered webhook deliveries, oldest
// first; NextAfter of the answer, when set, is After of the next page.
func (c *Client) DeadLetters(ctx context.Context, o DeadLettersOptions) (api.DeadLetterListDTO, error) {
	q := url.Values{}
	if o.Endpoint != "" {
		q.Set("endpoint", o.Endpoint)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.After > 0 {
		q.Set("after", strconv.FormatUint(o.After, 10))
	}
	var out api.DeadLetterListDTO
	err := c.do(ctx, http.MethodGet, "/api/v1/webhooks/dead-letters", q, nil, &out)
	return out, err
}

// RetryDeadLetter sends one dead letter again under its delivery id. An
// unknown id is an *Error with status 404 and code not_found.
func (c *Client) RetryDeadLetter(ctx context.Context, id string) (api.DeadLetterRetryDTO, error) {
	var out api.DeadLetterRetryDTO
	err := c.do(ctx, http.MethodPost, "/api/v1/webhooks/dead-letters/"+url.PathEscape(id)+"/retry", nil, nil, &out)
	return out, err
}

// RetryDeadLetters sends every dead letter of one endpoint again and
// reports how many were re-queued.
func (c *Client) RetryDeadLetters(ctx context.Context, endpoint string) (api.DeadLetterRetryDTO, error) {
	var out api.DeadLetterRetryDTO
	err := c.do(ctx, http.MethodPost, "/api/v1/webhooks/dead-letters/retry", url.Values{"endpoint": {endpoint}}, nil, &out)
	return out, err
}
