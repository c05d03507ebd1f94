package graphclient

import (
	"crypto/subtle"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// Receiver is the http.Handler at a subscription's notificationUrl and
// lifecycleNotificationUrl. It answers Graph's validation handshake
// (?validationToken=… → 200 text/plain with the token) and accepts
// notification POSTs: the body is parsed, items whose clientState is not
// ClientState are dropped (counted in Rejected), the rest go to Deliver,
// and Graph gets 202 at once. Deliver must only queue (Graph wants the
// answer within 3 s): notifications are hints for a later read.
type Receiver struct {
	ClientState string
	Deliver     func([]graph.Notification)
	// MaxBody bounds a POST body (default 1 MiB).
	MaxBody int64
	// Rejected counts items dropped for a wrong clientState.
	Rejected atomic.Int64
}

// ServeHTTP implements http.Handler.
func (h *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		// Query() has decoded it; Graph wants it back as sent before encoding.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "notifications are POSTed", http.StatusMethodNotAllowed)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	var c graphwire.ChangeNotificationCollection
	if err := graphwire.Decode(r.Body, limit, &c); err != nil {
		http.Error(w, "not a change notification collection: "+err.Error(), http.StatusBadRequest)
		return
	}
	all := graphwire.ToNotifications(c)
	ok := all[:0]
	for _, n := range all {
		if subtle.ConstantTimeCompare([]byte(n.ClientState), []byte(h.ClientState)) != 1 {
			h.Rejected.Add(1)
			continue
		}
		ok = append(ok, n)
	}
	if len(ok) > 0 && h.Deliver != nil {
		h.Deliver(ok)
	}
	w.WriteHeader(http.StatusAccepted)
}
