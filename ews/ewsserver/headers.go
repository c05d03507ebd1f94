package ewsserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Exchange 2016/2019 behind IIS 10 answer every request with these headers
// (front end and back end as NetBIOS host names). Clients log request-id
// for support cases and some read X-BEServer to see where a mailbox lives.
const (
	iisServer        = "Microsoft-IIS/10.0"
	aspNetVersion    = "4.0.30319"
	exchangeCookie   = "exchangecookie"
	exchangeCookieTT = 365 * 24 * time.Hour
)

// writeCommonHeaders sets the headers of every answer, before
// authentication (a 401 carries them too).
func (h *Handler) writeCommonHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("request-id", newGUID())
	hd.Set("Cache-Control", "private")
	hd.Set("Server", iisServer)
	hd.Set("X-AspNet-Version", aspNetVersion)
	hd.Set("X-Powered-By", "ASP.NET")
	hd.Set("X-FEServer", h.frontEnd)
}

// writeRoutingHeaders sets what the front end adds once it has proxied an
// EWS request: the back end that served it, and exchangecookie (Exchange
// 2010's affinity cookie, still issued by 2013+ and ignored by them) when
// the client does not have one yet.
func (h *Handler) writeRoutingHeaders(w http.ResponseWriter, r *http.Request, c *Caller) {
	be := c.BackEndServer
	if be == "" {
		be = h.frontEnd
	}
	w.Header().Set("X-BEServer", netBIOSName(be))
	w.Header().Set("X-CalculatedBETarget", strings.ToLower(be))
	if _, err := r.Cookie(exchangeCookie); err != nil {
		http.SetCookie(w, &http.Cookie{Name: exchangeCookie, Value: strings.ReplaceAll(newGUID(), "-", ""), Path: "/",
			Expires: h.opts.Clock.Now().Add(exchangeCookieTT)})
	}
}

// netBIOSName is the upper-case first label of a host name, as Exchange
// writes X-FEServer and X-BEServer.
func netBIOSName(host string) string {
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	return strings.ToUpper(host)
}

// newGUID returns a random (version 4) GUID in its usual text form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", s[0:8], s[8:12], s[12:16], s[16:20], s[20:])
}
