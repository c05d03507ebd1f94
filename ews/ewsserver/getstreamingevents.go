package ewsserver

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func getStreamingEventsError(err error) any {
	r := &ewswire.GetStreamingEventsResponse{}
	r.ResponseMessages.Messages = []ewswire.GetStreamingEventsResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// getStreamingEvents serves m:GetStreamingEvents: one HTTP 200 whose
// chunked body is a sequence of complete envelopes (ConnectionStatus OK at
// connect and on every heartbeat, notification and error envelopes, a final
// Closed), each flushed as it is written.
func (h *Handler) getStreamingEvents(ctx context.Context, c *Caller, body any, w http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetStreamingEvents)
	if h.notify == nil {
		return nil, notSupported("Notifications")
	}
	timeout := time.Duration(req.ConnectionTimeout) * time.Minute
	stream, err := h.notify.OpenStream(ctx, c, req.SubscriptionIds.SubscriptionId, timeout)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	sw := ewswire.NewStreamWriter(flushWriter{w}, h.header())
	if h.opts.SchemaNotificationNamespace {
		sw.SchemaNamespace()
	}
	for {
		msg, err := stream.Next(ctx)
		if err != nil {
			if errors.Is(err, ErrStreamDropped) {
				panic(http.ErrAbortHandler) // cut the connection mid-stream
			}
			return nil, errStreamed
		}
		if err := sw.Write(h.streamMessage(msg)); err != nil {
			return nil, errStreamed
		}
		if msg.Status == ews.ConnectionClosed {
			return nil, errStreamed
		}
	}
}

// streamMessage converts a backend message to its envelope content.
func (h *Handler) streamMessage(m StreamMessage) ewswire.GetStreamingEventsResponseMessage {
	switch {
	case m.Err != nil:
		out := ewswire.SubscriptionErrorMessage(m.Err, m.ErrorIDs...)
		out.ConnectionStatus = string(m.Status)
		return out
	case len(m.Notifications) > 0:
		return ewswire.NotificationsMessage(m.Notifications...)
	default:
		return ewswire.ConnectionStatusMessage(m.Status)
	}
}

// flushWriter flushes after every write so each envelope leaves at once.
type flushWriter struct{ w http.ResponseWriter }

// Write implements io.Writer.
func (f flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }

// FlushError flushes the response.
func (f flushWriter) FlushError() error { return http.NewResponseController(f.w).Flush() }
