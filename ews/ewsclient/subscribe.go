package ewsclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// SubscribeRequest creates a pull, push or streaming subscription. For a
// streaming group, pass the group's Affinity and anchor in the Call.
type SubscribeRequest struct {
	Kind ews.SubscriptionKind
	// Folders defaults to the impersonated user's calendar unless
	// AllFolders is set.
	Folders    []ews.FolderRef
	AllFolders bool
	// EventTypes defaults to Created, Modified, Deleted, Moved, Copied.
	EventTypes []ews.EventType
	// Watermark resumes a pull/push subscription ("" = now).
	Watermark string
	// TimeoutMinutes is the pull subscription's idle lifetime, 1..1440
	// (default 30).
	TimeoutMinutes int
	// StatusFrequencyMinutes (1..1440, default 30) and URL configure push.
	StatusFrequencyMinutes int
	URL                    string
}

// Subscription is a new subscription: its id and, for pull and push, the
// starting watermark.
type Subscription struct {
	Id        string
	Watermark string
}

// DefaultEventTypes are the events calsync subscribes to.
var DefaultEventTypes = []ews.EventType{ews.EventCreated, ews.EventModified, ews.EventDeleted, ews.EventMoved, ews.EventCopied}

// Subscribe creates the subscription.
func (c *Client) Subscribe(ctx context.Context, call Call, req SubscribeRequest) (Subscription, error) {
	const op = "Subscribe"
	w, err := subscribeWire(req)
	if err != nil {
		return Subscription{}, fmt.Errorf("ewsclient: Subscribe: %w", err)
	}
	var resp ewswire.SubscribeResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return Subscription{}, err
	}
	msgs := resp.ResponseMessages.Messages
	if err := single(op, len(msgs)); err != nil {
		return Subscription{}, err
	}
	if err := msgs[0].Err(op, -1); err != nil {
		return Subscription{}, err
	}
	s := Subscription{Id: msgs[0].SubscriptionId, Watermark: msgs[0].Watermark}
	if s.Id == "" {
		return s, &ews.ProtocolError{Op: op, Err: errors.New("response without SubscriptionId")}
	}
	if req.Kind != ews.SubscriptionStreaming && s.Watermark == "" {
		return s, &ews.ProtocolError{Op: op, Err: errors.New("pull/push response without Watermark")}
	}
	return s, nil
}

func subscribeWire(req SubscribeRequest) (*ewswire.Subscribe, error) {
	var folders *ewswire.FolderIds
	var all *bool
	if req.AllFolders {
		if len(req.Folders) > 0 {
			return nil, errors.New("AllFolders and Folders are exclusive")
		}
		t := true
		all = &t
	} else {
		list := req.Folders
		if len(list) == 0 {
			list = []ews.FolderRef{ews.CalendarFolder()}
		}
		ids := ewswire.FolderIds{}
		for _, f := range list {
			ref, err := ewswire.FolderRefFrom(f)
			if err != nil {
				return nil, err
			}
			ids = append(ids, ref)
		}
		folders = &ids
	}
	types := req.EventTypes
	if len(types) == 0 {
		types = DefaultEventTypes
	}
	var et ewswire.EventTypes
	for _, t := range types {
		if !t.Subscribable() {
			return nil, fmt.Errorf("event type %q cannot be subscribed to", t)
		}
		et.EventType = append(et.EventType, string(t))
	}
	minutes := func(v, def int, name string) (int, error) {
		if v == 0 {
			v = def
		}
		if v < 1 || v > 1440 {
			return 0, fmt.Errorf("%s %d out of range 1..1440 minutes", name, v)
		}
		return v, nil
	}
	w := &ewswire.Subscribe{}
	switch req.Kind {
	case ews.SubscriptionPull:
		timeout, err := minutes(req.TimeoutMinutes, 30, "Timeout")
		if err != nil {
			return nil, err
		}
		w.Pull = &ewswire.PullSubscriptionRequest{SubscribeToAllFolders: all, FolderIds: folders, EventTypes: et, Watermark: req.Watermark, Timeout: timeout}
	case ews.SubscriptionPush:
		freq, err := minutes(req.StatusFrequencyMinutes, 30, "StatusFrequency")
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(req.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.URL) >= 2083 {
			return nil, fmt.Errorf("push URL must be an absolute http(s) URL shorter than 2083 characters")
		}
		w.Push = &ewswire.PushSubscriptionRequest{SubscribeToAllFolders: all, FolderIds: folders, EventTypes: et, Watermark: req.Watermark, StatusFrequency: freq, URL: req.URL}
	case ews.SubscriptionStreaming:
		if req.Watermark != "" {
			return nil, errors.New("streaming subscriptions take no watermark")
		}
		w.Streaming = &ewswire.StreamingSubscriptionRequest{SubscribeToAllFolders: all, FolderIds: folders, EventTypes: et}
	default:
		return nil, fmt.Errorf("unknown subscription kind %q", req.Kind)
	}
	return w, nil
}
