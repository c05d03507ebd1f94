package ewsmem

import (
	"context"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
)

// PushPoster delivers one push notification (m:SendNotification) to a
// listener and returns its SubscriptionStatus answer. ewsserver.PushPoster
// implements it with the shared EWS codec.
type PushPoster interface {
	SendNotification(ctx context.Context, url string, n ews.Notification) (ews.PushStatus, error)
}

// pusher runs the delivery loop of one push subscription.
type pusher struct {
	x      *Exchange
	sub    *subscription
	wakeC  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (p *pusher) wake() {
	select {
	case p.wakeC <- struct{}{}:
	default:
	}
}

func (p *pusher) stop() {
	p.once.Do(func() { p.cancel() })
}

// startPush starts the delivery goroutine of a push subscription.
func (x *Exchange) startPush(s *subscription) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pusher{x: x, sub: s, wakeC: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	x.subs.mu.Lock()
	s.push = p
	x.subs.mu.Unlock()
	x.pushWG.Add(1)
	go func() {
		defer x.pushWG.Done()
		defer close(p.done)
		p.run(ctx)
	}()
}

// run sends events as they come and a StatusEvent every StatusFrequency;
// failed posts are retried after 30 s, 60 s, 120 s … until the next retry
// would pass StatusFrequency, then the subscription is deleted.
func (p *pusher) run(ctx context.Context) {
	x := p.x
	lastSent := x.clock.Now()
	for {
		t := p.sub
		x.subs.mu.Lock()
		alive := x.subs.byID[t.id] == t
		var n ews.Notification
		has := false
		if alive && len(t.queue) > 0 {
			n = ews.Notification{SubscriptionId: t.id, PreviousWatermark: t.lastWatermark}
			n.Events, n.MoreEvents = t.takeLocked(x.opts.MaxEventsPerGetEvents)
			has = true
		} else if alive && x.clock.Now().Sub(lastSent) >= t.statusFrequency {
			n = ews.Notification{SubscriptionId: t.id, PreviousWatermark: t.lastWatermark,
				Events: []ews.Event{{Type: ews.EventStatus, Watermark: t.nextWatermarkLocked(x.subs.pos), UnreadCount: -1}}}
			has = true
		}
		x.subs.mu.Unlock()
		if !alive {
			return
		}
		if has {
			if !p.deliver(ctx, n) {
				return
			}
			lastSent = x.clock.Now()
			x.subs.mu.Lock()
			t.lastWatermark = n.Events[len(n.Events)-1].Watermark
			x.subs.mu.Unlock()
			continue
		}
		timer := x.clock.NewTimer(lastSent.Add(t.statusFrequency).Sub(x.clock.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-p.wakeC:
			timer.Stop()
		case <-timer.C():
		}
	}
}

// deliver posts n with retries; false means the subscription is gone.
func (p *pusher) deliver(ctx context.Context, n ews.Notification) bool {
	x := p.x
	retry := 30 * time.Second
	var waited time.Duration
	for {
		status, err := p.post(ctx, n)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			x.stats.push(true)
			if status == ews.PushUnsubscribe {
				x.subs.mu.Lock()
				x.subs.removeLocked(p.sub)
				x.subs.mu.Unlock()
				return false
			}
			return true
		}
		x.stats.push(false)
		x.log.Debug("ewsmem: push failed", "url", p.sub.url, "err", err)
		if waited+retry > p.sub.statusFrequency {
			x.subs.mu.Lock()
			x.subs.removeLocked(p.sub)
			x.subs.mu.Unlock()
			return false
		}
		if sleepCtx(ctx, x, retry) != nil {
			return false
		}
		waited += retry
		retry *= 2
	}
}

func (p *pusher) post(ctx context.Context, n ews.Notification) (ews.PushStatus, error) {
	poster := p.x.opts.PushClient
	if poster == nil {
		return "", errNoPoster
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return poster.SendNotification(ctx, p.sub.url, n)
}

type noPosterError struct{}

// Error implements error.
func (noPosterError) Error() string { return "ewsmem: no push client configured" }

var errNoPoster error = noPosterError{}
