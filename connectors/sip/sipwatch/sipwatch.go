// Package sipwatch is a SIP presence watcher: it SUBSCRIBEs to presentities
// (RFC 3856, Event: presence) over UDP, answers every NOTIFY and keeps
// what they carried. The connector's tests assert the PIDF a real server
// relays with it; `calsync demo --sip` shows its view and the SIP
// benchmark times the last NOTIFY of a burst with it.
package sipwatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calsync/calsync/connectors/sip/pidf"
)

// Notify is one NOTIFY received for a presentity.
type Notify struct {
	Presentity string // sip:user@domain, from the NOTIFY's From
	// State is the Subscription-State header (active;expires=600, terminated…).
	State string
	// Body is the raw body; empty when the server has no presence for the
	// presentity (never published, or the publication expired or was removed).
	Body []byte
	// Doc is the parsed PIDF document, nil when Body is empty or not PIDF.
	Doc *pidf.Parsed
	At  time.Time
	// CallID and CSeq place the NOTIFY in its subscription: over UDP a
	// server's NOTIFYs may arrive out of order, the CSeq tells the latest.
	CallID string
	CSeq   uint32
}

// Watcher subscribes from one UDP socket. Safe for concurrent use.
type Watcher struct {
	conn   *net.UDPConn
	server *net.UDPAddr
	domain string

	mu      sync.Mutex
	subs    map[string]string   // presentity → Call-ID of its subscription
	pending map[string]chan int // Call-ID → final status of the SUBSCRIBE in flight
	got     map[string][]Notify // presentity → NOTIFYs in arrival order
	latest  map[string]Notify   // presentity → the highest CSeq of the dialog that notified last
	on      func(Notify)        // optional callback, outside the lock
	changed chan struct{}       // closed and replaced on every NOTIFY
	cseq    map[string]int      // Call-ID → last CSeq sent
	done    chan struct{}
}

// New opens a watcher on a loopback UDP port that SUBSCRIBEs through the
// server at addr (host:port) as watcher@domain.
func New(addr, domain string) (*Watcher, error) {
	server, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("sipwatch: server address %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	// A burst of thousands of NOTIFYs must not overflow the socket.
	_ = conn.SetReadBuffer(8 << 20)
	w := &Watcher{conn: conn, server: server, domain: domain,
		pending: map[string]chan int{}, got: map[string][]Notify{}, latest: map[string]Notify{},
		changed: make(chan struct{}), done: make(chan struct{})}
	go w.read()
	return w, nil
}

// OnNotify sets a function called for every NOTIFY, in arrival order.
func (w *Watcher) OnNotify(f func(Notify)) {
	w.mu.Lock()
	w.on = f
	w.mu.Unlock()
}

// Close stops the watcher (subscriptions are left to expire).
func (w *Watcher) Close() error {
	err := w.conn.Close()
	<-w.done
	return err
}

// Subscribe subscribes to presentity (sip:alice@example.test) for expires
// seconds and returns when the server accepted (2xx), retransmitting the
// SUBSCRIBE as UDP requires. A second call for the same presentity
// subscribes anew (after a server restart lost the subscription).
func (w *Watcher) Subscribe(ctx context.Context, presentity string, expires int) error {
	callID := token() + "@calsync-watcher"
	ch := make(chan int, 1)
	w.mu.Lock()
	w.pending[callID] = ch
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.pending, callID)
		w.mu.Unlock()
	}()
	msg := w.subscribe(presentity, callID, token(), expires)
	wait := 500 * time.Millisecond
	for {
		if _, err := w.conn.WriteToUDP(msg, w.server); err != nil {
			return fmt.Errorf("sipwatch: subscribe %s: %w", presentity, err)
		}
		t := time.NewTimer(wait)
		select {
		case code := <-ch:
			t.Stop()
			if code >= 300 {
				return fmt.Errorf("sipwatch: subscribe %s: server answered %d", presentity, code)
			}
			return nil
		case <-t.C:
			wait = min(2*wait, 4*time.Second)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sipwatch: subscribe %s: %w", presentity, ctx.Err())
		}
	}
}

// subscribe builds a SUBSCRIBE that opens a new dialog.
func (w *Watcher) subscribe(presentity, callID, tag string, expires int) []byte {
	local := w.conn.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "SUBSCRIBE %s SIP/2.0\r\n", presentity)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n", local, token())
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:watcher@%s>;tag=%s\r\n", w.domain, tag)
	fmt.Fprintf(&b, "To: <%s>\r\n", presentity)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	b.WriteString("CSeq: 1 SUBSCRIBE\r\n")
	fmt.Fprintf(&b, "Contact: <sip:watcher@%s>\r\n", local)
	b.WriteString("Event: presence\r\n")
	b.WriteString("Accept: " + pidf.ContentType + "\r\n")
	fmt.Fprintf(&b, "Expires: %d\r\n", expires)
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// read handles everything the server sends: answers to SUBSCRIBEs and
// NOTIFYs, each of which gets a 200 OK.
func (w *Watcher) read() {
	defer close(w.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := w.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		switch m := msg.(type) {
		case *sip.Response:
			w.answered(m)
		case *sip.Request:
			if m.Method != sip.NOTIFY {
				continue
			}
			res := sip.NewResponseFromRequest(m, 200, "OK", nil)
			_, _ = w.conn.WriteToUDP([]byte(res.String()), from)
			w.notified(m)
		}
	}
}

func (w *Watcher) answered(res *sip.Response) {
	if res.IsProvisional() || res.CallID() == nil {
		return
	}
	w.mu.Lock()
	ch := w.pending[res.CallID().Value()]
	w.mu.Unlock()
	if ch != nil {
		select {
		case ch <- res.StatusCode:
		default:
		}
	}
}

func (w *Watcher) notified(req *sip.Request) {
	n := Notify{At: time.Now(), Body: req.Body()}
	if f := req.From(); f != nil {
		n.Presentity = "sip:" + f.Address.User + "@" + f.Address.Host
	}
	if h := req.CallID(); h != nil {
		n.CallID = h.Value()
	}
	if h := req.CSeq(); h != nil {
		n.CSeq = h.SeqNo
	}
	if h := req.GetHeader("Subscription-State"); h != nil {
		n.State = h.Value()
	}
	if len(n.Body) > 0 {
		if p, err := pidf.Parse(n.Body); err == nil {
			n.Doc = &p
		}
	}
	w.mu.Lock()
	w.got[n.Presentity] = append(w.got[n.Presentity], n)
	if cur, ok := w.latest[n.Presentity]; !ok || cur.CallID != n.CallID || n.CSeq > cur.CSeq {
		// Within a dialog the CSeq orders; a NOTIFY of another dialog
		// (a resubscription) takes over.
		w.latest[n.Presentity] = n
	}
	close(w.changed)
	w.changed = make(chan struct{})
	on := w.on
	w.mu.Unlock()
	if on != nil {
		on(n)
	}
}

// Notifies returns the NOTIFYs received for presentity so far.
func (w *Watcher) Notifies(presentity string) []Notify {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Notify(nil), w.got[presentity]...)
}

// Last returns the latest NOTIFY for presentity: the highest CSeq of the
// dialog that notified last.
func (w *Watcher) Last(presentity string) (Notify, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.latest[presentity]
	return n, ok
}

// Wait returns when cond holds for the latest NOTIFY of presentity (see
// Last), or
// ctx ends.
func (w *Watcher) Wait(ctx context.Context, presentity string, cond func(Notify) bool) (Notify, error) {
	for {
		w.mu.Lock()
		ch := w.changed
		n, ok := w.latest[presentity]
		w.mu.Unlock()
		if ok && cond(n) {
			return n, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Notify{}, ctx.Err()
		}
	}
}

func token() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
