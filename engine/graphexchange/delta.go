package graphexchange

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/graph/graphclient"
)

// The watermark the engine stores for a mailbox is the delta chain:
// "delta1 <window start unix> <window end unix> <deltaLink>". The window
// is kept beside the link because Graph freezes it in the token and does
// not say it back.
const watermarkPrefix = "delta1 "

type chain struct {
	start, end time.Time
	link       string
}

func (c chain) String() string {
	return watermarkPrefix + strconv.FormatInt(c.start.Unix(), 10) + " " + strconv.FormatInt(c.end.Unix(), 10) + " " + c.link
}

func parseChain(w string) (chain, error) {
	rest, ok := strings.CutPrefix(w, watermarkPrefix)
	parts := strings.SplitN(rest, " ", 3)
	if !ok || len(parts) != 3 || parts[2] == "" {
		return chain{}, fmt.Errorf("graphexchange: watermark is not a delta chain (%.20q…)", w)
	}
	s, err1 := strconv.ParseInt(parts[0], 10, 64)
	e, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return chain{}, fmt.Errorf("graphexchange: watermark window does not parse")
	}
	return chain{start: time.Unix(s, 0).UTC(), end: time.Unix(e, 0).UTC(), link: parts[2]}, nil
}

// window is [start of today - before days, end of today + after days) in
// UTC, whole days so that it moves once a day, with one more day on each
// side: the engine's window runs between local midnights in the mailbox's
// zone, which are up to 14 hours off the UTC ones (Kiribati; Baker Island
// the other way), and a change there would go unnoticed.
func (x *Client) window() (time.Time, time.Time) {
	now := x.clock.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -x.before-1), day.AddDate(0, 0, x.after+2)
}

// Subscribe implements engine.Exchange in pull mode: it starts a delta
// chain (the first round lists the window; its content is not needed, the
// engine re-reads with calendarView after subscribing) and returns its
// deltaLink as the watermark. A watermark to resume with is checked and
// kept: the next GetEvents reports what changed since, or a resync.
func (x *Client) Subscribe(ctx context.Context, t engine.Target, req engine.SubscribeRequest) (engine.Subscription, error) {
	if req.Mode == engine.Streaming {
		return engine.Subscription{}, &engine.ExchangeError{Code: "ErrorInvalidSubscription", Err: ErrNoStreaming}
	}
	id := "delta:" + strings.ToLower(t.SMTP)
	wm := req.Watermark
	if _, err := parseChain(wm); err != nil {
		c, err := x.startChain(ctx, t.SMTP)
		if err != nil {
			return engine.Subscription{}, err
		}
		wm = c.String()
	}
	if x.hooks != nil {
		var err error
		if id, err = x.subscribeHook(ctx, t.SMTP); err != nil {
			return engine.Subscription{}, err
		}
	}
	return engine.Subscription{ID: id, Watermark: wm}, nil
}

func (x *Client) startChain(ctx context.Context, smtp string) (chain, error) {
	start, end := x.window()
	round, err := x.c.Delta(ctx, smtp, graphclient.DeltaRequest{Start: start, End: end})
	if err != nil {
		return chain{}, classify("delta", err)
	}
	return chain{start: start, end: end, link: round.DeltaLink}, nil
}

// GetEvents implements engine.Exchange: one delta round from the
// watermark's link. Anything changed (events or @removed, also outside the
// window: the engine re-reads its own window anyway) is one Modified
// event, a hint. When the day has moved since the chain began, the chain
// is restarted over the new window and reported as Modified, so that
// events that entered the window are read. A token Graph no longer knows
// is a SyncStateNotFound error: the engine resubscribes and re-reads.
func (x *Client) GetEvents(ctx context.Context, t engine.Target, subscriptionID, watermark string) (engine.EventBatch, error) {
	c, err := parseChain(watermark)
	if err != nil {
		return engine.EventBatch{}, &engine.ExchangeError{Code: "ErrorInvalidWatermark", Err: err}
	}
	if x.hooks != nil {
		due, err := x.hookDue(ctx, t, subscriptionID)
		if err != nil || !due {
			return engine.EventBatch{Watermark: watermark}, err
		}
	}
	now := x.clock.Now()
	if start, _ := x.window(); !start.Equal(c.start) {
		nc, err := x.startChain(ctx, t.SMTP)
		if err != nil {
			return engine.EventBatch{}, err
		}
		return engine.EventBatch{Watermark: nc.String(), Events: []engine.Event{{Kind: engine.EventModified, TimeStamp: now}}}, nil
	}
	round, err := x.c.Delta(ctx, t.SMTP, graphclient.DeltaRequest{Link: c.link})
	if err != nil {
		if x.hooks != nil {
			x.hooks.markDirty(subscriptionID, true) // the round is still owed
		}
		return engine.EventBatch{}, classify("delta", err)
	}
	c.link = round.DeltaLink
	b := engine.EventBatch{Watermark: c.String()}
	if len(round.Events)+len(round.Removed) > 0 {
		b.Events = []engine.Event{{Kind: engine.EventModified, TimeStamp: now}}
	}
	return b, nil
}
