package ewsclient

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// tracer writes a protocol trace with credentials redacted. Each message is
// written as one block so that concurrent calls do not interleave.
type tracer struct {
	mu sync.Mutex
	w  io.Writer
}

var secretHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"Www-Authenticate": true, "Proxy-Authenticate": true,
}

// passwordRE matches password-, token- and secret-like XML elements and
// attributes in bodies.
var passwordRE = regexp.MustCompile(`(?i)(<([a-z]+:)?(?:password|token|secret|clientsecret)[^>]*>)[^<]*(</)|((?:password|token|secret)\s*=\s*")[^"]*(")`)

func redactBody(b []byte) []byte {
	return passwordRE.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := passwordRE.FindSubmatch(m)
		if sub[1] != nil { // an element: keep its tags
			return append(append(append([]byte{}, sub[1]...), "[redacted]"...), sub[3]...)
		}
		return append(append(append([]byte{}, sub[4]...), "[redacted]"...), sub[5]...)
	})
}

func writeHeaders(b *strings.Builder, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if secretHeaders[http.CanonicalHeaderKey(k)] {
			v = "[redacted]"
		}
		fmt.Fprintf(b, "%s: %s\n", k, v)
	}
}

func (t *tracer) request(r *http.Request, body []byte) {
	if t == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, ">>> %s %s\n", r.Method, r.URL.Redacted())
	writeHeaders(&b, r.Header)
	b.WriteString("\n")
	b.Write(redactBody(body))
	b.WriteString("\n\n")
	t.write(b.String())
}

func (t *tracer) response(r *http.Response, body []byte) {
	if t == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<<< %s\n", r.Status)
	writeHeaders(&b, r.Header)
	b.WriteString("\n")
	b.Write(redactBody(body))
	b.WriteString("\n\n")
	t.write(b.String())
}

func (t *tracer) chunk(p []byte) {
	if t == nil || len(p) == 0 {
		return
	}
	t.write(string(redactBody(bytes.Clone(p))))
}

func (t *tracer) write(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.w, s)
}
