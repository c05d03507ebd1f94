package graphserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/graph/internal/graphwire"
)

// Delivery of change and lifecycle notifications (graph-facts §3).

const (
	validationTimeout = 10 * time.Second
	deliveryTimeout   = 3 * time.Second
	retryFor          = 4 * time.Hour
)

// validateEndpoint is the handshake: POST u?validationToken=<token>,
// text/plain; the endpoint must answer 200 with the decoded token as its
// body within 10 s.
func (s *Server) validateEndpoint(r *http.Request, u string) error {
	token := "Validation: Testing client application reachability for subscription Request-Id: " + newGUID()
	target, err := url.Parse(u)
	if err != nil {
		return err
	}
	q := target.Query()
	q.Set("validationToken", token)
	target.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(r.Context(), validationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered HTTP %d", resp.StatusCode)
	}
	if string(body) != token {
		return fmt.Errorf("answered a body that is not the validation token")
	}
	return nil
}

// watchState is what the watcher last saw of a mailbox: its change
// counter and its items (id → changeKey).
type watchState struct {
	seq   uint64
	items map[string]string
}

type watcher struct {
	mu    sync.Mutex
	boxes map[string]*watchState
}

// watchMailbox starts tracking a mailbox's items (the baseline against
// which later changes are notified).
func (s *Server) watchMailbox(smtp string) {
	s.watch0.mu.Lock()
	_, ok := s.watch0.boxes[smtp]
	s.watch0.mu.Unlock()
	if ok {
		return
	}
	st := s.observe(smtp)
	s.watch0.mu.Lock()
	if _, ok := s.watch0.boxes[smtp]; !ok {
		s.watch0.boxes[smtp] = st
	}
	s.watch0.mu.Unlock()
}

func (s *Server) observe(smtp string) *watchState {
	st := &watchState{items: map[string]string{}}
	if cc, ok := s.model.(ChangeCounter); ok {
		st.seq, _ = cc.ChangeSeq(smtp)
	}
	items, _ := s.model.CalendarItems(smtp)
	for _, it := range items {
		st.items[graphID(it.ItemId.Id)] = it.ItemId.ChangeKey
	}
	return st
}

// watch looks at subscribed mailboxes every NotifyInterval until Close.
func (s *Server) watch() {
	defer s.wg.Done()
	t := s.realTime.NewTimer(s.opts.NotifyInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C():
		}
		s.notifyChanges()
		t.Reset(s.opts.NotifyInterval)
	}
}

// change is one item change in a mailbox.
type change struct {
	kind, id, changeKey string
}

// notifyChanges compares each subscribed mailbox with what was last seen
// and sends the changes to its subscriptions. Series are single items
// here, so a changed or deleted occurrence is an "updated" of its series
// master, as Graph reports it.
func (s *Server) notifyChanges() {
	subs := s.subs.live(s.now())
	byBox := map[string][]subscription{}
	for _, sub := range subs {
		byBox[sub.smtp] = append(byBox[sub.smtp], sub)
	}
	s.watch0.mu.Lock()
	for smtp := range s.watch0.boxes {
		if len(byBox[smtp]) == 0 {
			delete(s.watch0.boxes, smtp)
		}
	}
	s.watch0.mu.Unlock()
	batches := map[string][]graphwire.ChangeNotification{}
	for smtp, list := range byBox {
		changes := s.diffMailbox(smtp)
		for _, c := range changes {
			for _, sub := range list {
				if sub.paused || !sub.wants(c.kind) {
					continue
				}
				n := s.changeNotification(sub, c)
				batches[sub.notificationURL] = append(batches[sub.notificationURL], n)
				if s.opts.DuplicateNotifications {
					batches[sub.notificationURL] = append(batches[sub.notificationURL], n)
				}
			}
		}
	}
	for u, value := range batches {
		s.deliver(u, graphwire.ChangeNotificationCollection{Value: value})
	}
}

func (s *Server) diffMailbox(smtp string) []change {
	s.watch0.mu.Lock()
	old := s.watch0.boxes[smtp]
	s.watch0.mu.Unlock()
	if old == nil {
		s.watchMailbox(smtp)
		return nil
	}
	if cc, ok := s.model.(ChangeCounter); ok {
		if seq, err := cc.ChangeSeq(smtp); err == nil && seq == old.seq {
			return nil
		}
	}
	cur := s.observe(smtp)
	var out []change
	for id, ck := range cur.items {
		prev, ok := old.items[id]
		switch {
		case !ok:
			out = append(out, change{"created", id, ck})
		case prev != ck:
			out = append(out, change{"updated", id, ck})
		}
	}
	for id := range old.items {
		if _, ok := cur.items[id]; !ok {
			out = append(out, change{"deleted", id, ""})
		}
	}
	s.watch0.mu.Lock()
	s.watch0.boxes[smtp] = cur
	s.watch0.mu.Unlock()
	return out
}

func (s *Server) changeNotification(sub subscription, c change) graphwire.ChangeNotification {
	res := "Users/" + ObjectID(sub.smtp) + "/Events/" + c.id
	n := graphwire.ChangeNotification{SubscriptionID: sub.id, SubscriptionExpirationDateTime: sub.expires.UTC(),
		ChangeType: c.kind, ClientState: sub.clientState, Resource: res, TenantID: s.tenantID,
		ResourceData: &graphwire.ResourceData{ODataType: "#Microsoft.Graph.Event", ODataID: res, ID: c.id}}
	if c.changeKey != "" {
		n.ResourceData.ODataETag = `W/"` + c.changeKey + `"`
	}
	return n
}

// deliver POSTs a notification batch in the background; an endpoint that
// does not answer 2xx within 3 s gets it again later, with growing pauses,
// for up to 4 hours.
func (s *Server) deliver(u string, body graphwire.ChangeNotificationCollection) {
	b, err := json.Marshal(body)
	if err != nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		start := s.realTime.Now()
		pause := time.Second
		for {
			err := s.post(u, b)
			s.stats.delivery(err == nil)
			if err == nil {
				return
			}
			s.log.Debug("graph: notification delivery failed", "url", redactURL(u), "err", err)
			if s.realTime.Now().Sub(start) > retryFor {
				s.log.Warn("graph: notifications dropped after retrying for 4 hours", "url", redactURL(u))
				return
			}
			t := s.realTime.NewTimer(pause)
			select {
			case <-s.done:
				t.Stop()
				return
			case <-t.C():
			}
			pause = min(pause*2, 5*time.Minute)
		}
	}()
}

func (s *Server) post(u string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// Lifecycle events (graph-facts §3).
const (
	ReauthorizationRequired = "reauthorizationRequired"
	SubscriptionRemoved     = "subscriptionRemoved"
	Missed                  = "missed"
)

// SendLifecycle sends a lifecycle event to the subscriptions of mailbox
// smtp ("" = all) that have a lifecycleNotificationUrl, and applies it:
// subscriptionRemoved deletes the subscriptions (also those without a
// lifecycle URL, which are removed silently), reauthorizationRequired
// pauses their notifications until a PATCH or /reauthorize. It returns how
// many subscriptions it reached.
func (s *Server) SendLifecycle(event, smtp string) (int, error) {
	switch event {
	case ReauthorizationRequired, SubscriptionRemoved, Missed:
	default:
		return 0, fmt.Errorf("graphserver: unknown lifecycle event %q: want %s, %s or %s", event, ReauthorizationRequired, SubscriptionRemoved, Missed)
	}
	smtp = strings.ToLower(smtp)
	batches := map[string][]graphwire.ChangeNotification{}
	n := 0
	s.subs.mu.Lock()
	for id, sub := range s.subs.byID {
		if smtp != "" && sub.smtp != smtp {
			continue
		}
		n++
		switch event {
		case SubscriptionRemoved:
			delete(s.subs.byID, id)
		case ReauthorizationRequired:
			sub.paused = true
		}
		if sub.lifecycle != "" {
			batches[sub.lifecycle] = append(batches[sub.lifecycle], graphwire.ChangeNotification{SubscriptionID: sub.id,
				SubscriptionExpirationDateTime: sub.expires.UTC(), TenantID: s.tenantID, ClientState: sub.clientState, LifecycleEvent: event})
		}
	}
	s.subs.mu.Unlock()
	for u, value := range batches {
		s.deliver(u, graphwire.ChangeNotificationCollection{Value: value})
	}
	return n, nil
}
