package graphclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// ViewOptions tune CalendarView; the zero value is fine.
type ViewOptions struct {
	// PageSize is $top (1–1000; default 500): fewer round trips than
	// Graph's default of 10.
	PageSize int
	// TimeZone is sent as Prefer: outlook.timezone; start and end then
	// come in that zone. Default: none, Graph answers UTC.
	TimeZone string
}

// CalendarView reads the occurrences, exceptions and single instances of
// the mailbox's default calendar overlapping [start, end), following every
// nextLink. Window bounds are sent in UTC with their offset ("…Z"), which
// Graph honours whatever the Prefer header says.
func (c *Client) CalendarView(ctx context.Context, mailbox string, start, end time.Time, opts ViewOptions) ([]graph.Event, error) {
	const op = "calendarView"
	if !end.After(start) {
		return nil, fmt.Errorf("graphclient: %s: window end %s is not after start %s", op, end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	if mailbox == "" {
		return nil, errors.New("graphclient: " + op + ": empty mailbox")
	}
	top := opts.PageSize
	if top <= 0 {
		top = 500
	}
	if top > 1000 {
		top = 1000
	}
	q := url.Values{
		"startDateTime": {start.UTC().Format(time.RFC3339)},
		"endDateTime":   {end.UTC().Format(time.RFC3339)},
		"$top":          {strconv.Itoa(top)},
	}
	var prefer []string
	if opts.TimeZone != "" {
		prefer = append(prefer, graphwire.PreferTimeZone(opts.TimeZone))
	}
	var out []graph.Event
	err := c.readPages(ctx, op, mailbox, c.userURL(mailbox, "/calendarView", q), prefer, func(p graphwire.EventPage) error {
		for _, w := range p.Value {
			if w.Removed != nil {
				continue // not part of a calendarView; tolerate it
			}
			out = append(out, graphwire.ToEvent(w))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
