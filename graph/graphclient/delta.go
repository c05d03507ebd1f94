package graphclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// DeltaRequest starts or continues a calendarView/delta chain.
type DeltaRequest struct {
	// Link is the deltaLink of the last round; "" starts a new chain for
	// [Start, End). The window is frozen in the token: to move it, start a
	// new chain (a full read).
	Link       string
	Start, End time.Time
	// PageSize is sent as Prefer: odata.maxpagesize (default 200).
	PageSize int
}

// DeltaRound is the outcome of one round: changed events and removed ids
// since the last round (the first round lists the whole window), and the
// deltaLink of the next round.
type DeltaRound struct {
	// Events are the created or updated events, one per id (a replayed id
	// keeps its last version). Occurrences may carry only id, type,
	// seriesMasterId, start and end.
	Events []graph.Event
	// Removed are the ids Graph reported removed, also events outside the
	// window that changed; an id removed after an update in the same round
	// appears only here.
	Removed []graph.Removed
	// DeltaLink is the URL of the next round.
	DeltaLink string
}

// ErrNoDeltaLink reports a round whose last page had neither nextLink nor
// deltaLink: the chain cannot continue.
var ErrNoDeltaLink = errors.New("the last page carries no @odata.deltaLink")

// Delta runs one delta round: it follows nextLinks until the deltaLink.
// An expired or unknown token is a *graph.Error that graph.Classify calls
// ClassResync (410, syncStateNotFound, resyncRequired): start a new chain
// with a full read.
func (c *Client) Delta(ctx context.Context, mailbox string, r DeltaRequest) (DeltaRound, error) {
	const op = "delta"
	if mailbox == "" {
		return DeltaRound{}, errors.New("graphclient: " + op + ": empty mailbox")
	}
	first := r.Link
	if first == "" {
		if !r.End.After(r.Start) {
			return DeltaRound{}, fmt.Errorf("graphclient: %s: window end %s is not after start %s", op, r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
		}
		first = c.userURL(mailbox, "/calendarView/delta", url.Values{
			"startDateTime": {r.Start.UTC().Format(time.RFC3339)},
			"endDateTime":   {r.End.UTC().Format(time.RFC3339)},
		})
	} else if err := c.checkLink(first); err != nil {
		return DeltaRound{}, fmt.Errorf("graphclient: %s: %w", op, err)
	}
	size := r.PageSize
	if size <= 0 {
		size = 200
	}
	byID := map[string]int{} // index in round.Events
	removed := map[string]int{}
	var round DeltaRound
	err := c.readPages(ctx, op, mailbox, first, []string{graphwire.PreferMaxPageSize(size)}, func(p graphwire.EventPage) error {
		for _, w := range p.Value {
			if w.Removed != nil {
				if i, ok := byID[w.ID]; ok {
					round.Events[i].ID = "" // dropped below
					delete(byID, w.ID)
				}
				if _, ok := removed[w.ID]; !ok {
					removed[w.ID] = len(round.Removed)
					round.Removed = append(round.Removed, graph.Removed{ID: w.ID, Reason: w.Removed.Reason})
				}
				continue
			}
			e := graphwire.ToEvent(w)
			if i, ok := removed[w.ID]; ok { // removed, then back: it exists
				round.Removed[i].ID = ""
				delete(removed, w.ID)
			}
			if i, ok := byID[w.ID]; ok {
				round.Events[i] = e
				continue
			}
			byID[w.ID] = len(round.Events)
			round.Events = append(round.Events, e)
		}
		round.DeltaLink = p.DeltaLink
		return nil
	})
	if err != nil {
		return DeltaRound{}, err
	}
	if round.DeltaLink == "" {
		return DeltaRound{}, &graph.ProtocolError{Op: op, Err: ErrNoDeltaLink}
	}
	if err := c.checkLink(round.DeltaLink); err != nil {
		return DeltaRound{}, &graph.ProtocolError{Op: op, Err: fmt.Errorf("@odata.deltaLink: %w", err)}
	}
	round.Events = compact(round.Events, func(e graph.Event) string { return e.ID })
	round.Removed = compact(round.Removed, func(r graph.Removed) string { return r.ID })
	return round, nil
}

// compact drops the entries whose id was blanked (superseded in the round).
func compact[T any](xs []T, id func(T) string) []T {
	out := xs[:0]
	for _, x := range xs {
		if id(x) != "" {
			out = append(out, x)
		}
	}
	return out
}
