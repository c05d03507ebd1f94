package ewsclient

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// PushFunc receives the notifications of one push (SendNotification) and
// answers PushOK to keep the subscription or PushUnsubscribe to end it.
type PushFunc func(ctx context.Context, notifications []ews.Notification) ews.PushStatus

// PushHandler returns the http.Handler a push subscription's URL points
// to: it decodes Exchange's SendNotification POSTs (limits enforced) and
// answers SendNotificationResult. A malformed request gets HTTP 400 and is
// logged; Exchange retries unanswered pushes (30 s, 60 s, …).
func PushHandler(fn PushFunc, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var msg ewswire.SendNotification
		env, err := ewswire.DecodeEnvelope(http.MaxBytesReader(w, r.Body, 16<<20), ewswire.DefaultLimits, ewswire.Expect(&msg))
		if err != nil || env.Fault() != nil {
			log.Warn("ewsclient: invalid push notification", "err", err)
			http.Error(w, "invalid SendNotification", http.StatusBadRequest)
			return
		}
		var batch []ews.Notification
		for i, m := range msg.ResponseMessages.Messages {
			if err := m.Err("SendNotification", i); err != nil {
				log.Warn("ewsclient: push notification carries an error", "err", err)
				continue
			}
			if m.Notification == nil {
				continue
			}
			n, err := m.Notification.ToEWS()
			if err != nil {
				log.Warn("ewsclient: invalid push notification", "err", err)
				http.Error(w, "invalid notification", http.StatusBadRequest)
				return
			}
			batch = append(batch, n)
		}
		status := fn(r.Context(), batch)
		if status != ews.PushUnsubscribe {
			status = ews.PushOK
		}
		var buf bytes.Buffer
		if err := ewswire.EncodeEnvelope(&buf, nil, &ewswire.SendNotificationResult{SubscriptionStatus: string(status)}); err != nil {
			http.Error(w, "encode", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	})
}
