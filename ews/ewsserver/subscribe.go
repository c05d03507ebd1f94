package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func subscribeError(err error) any {
	r := &ewswire.SubscribeResponse{}
	r.ResponseMessages.Messages = []ewswire.SubscribeResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// subscribe serves m:Subscribe for pull, push and streaming subscriptions.
func (h *Handler) subscribe(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.Subscribe)
	if h.notify == nil {
		return nil, notSupported("Notifications")
	}
	var sr SubscribeRequest
	var all *bool
	var folders *ewswire.FolderIds
	var types ewswire.EventTypes
	switch {
	case req.Pull != nil:
		sr.Kind, sr.Watermark, sr.Timeout = ews.SubscriptionPull, req.Pull.Watermark, req.Pull.Timeout
		all, folders, types = req.Pull.SubscribeToAllFolders, req.Pull.FolderIds, req.Pull.EventTypes
	case req.Push != nil:
		sr.Kind, sr.Watermark, sr.StatusFrequency, sr.URL = ews.SubscriptionPush, req.Push.Watermark, req.Push.StatusFrequency, req.Push.URL
		all, folders, types = req.Push.SubscribeToAllFolders, req.Push.FolderIds, req.Push.EventTypes
	case req.Streaming != nil:
		sr.Kind = ews.SubscriptionStreaming
		all, folders, types = req.Streaming.SubscribeToAllFolders, req.Streaming.FolderIds, req.Streaming.EventTypes
	default:
		return nil, SchemaFault("Subscribe needs a subscription request.")
	}
	sr.AllFolders = all != nil && *all
	if folders != nil {
		for _, f := range *folders {
			sr.Folders = append(sr.Folders, f.ToEWS())
		}
	}
	for _, t := range types.EventType {
		sr.EventTypes = append(sr.EventTypes, ews.EventType(t))
	}
	res, err := h.notify.Subscribe(ctx, c, sr)
	if err != nil {
		return nil, err
	}
	resp := &ewswire.SubscribeResponse{}
	resp.ResponseMessages.Messages = []ewswire.SubscribeResponseMessage{{ResponseMessage: ewswire.Success(), SubscriptionId: res.SubscriptionId, Watermark: res.Watermark}}
	return resp, nil
}
