package ewsclient

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// traceBodyLimit bounds what is kept of one body; a streaming response
// is open for minutes and only its beginning is of interest.
const traceBodyLimit = 4 << 20

// TraceDir returns an HTTPClient that records every request sent through
// next and every response into dir, one file each, so that the exchange
// with a real site can be read, kept and compared with the simulator's
// answers: NNNN-Operation-request.xml and NNNN-Operation-response.xml,
// numbered in the order the requests were sent. Each file is the body,
// preceded by an XML comment with the request line or status and the
// headers. Credentials are redacted: Authorization, WWW-Authenticate and
// cookie headers (Basic credentials, bearer tokens, NTLM messages),
// password, token and secret elements and attributes in bodies, and
// secret-looking query parameters. A response body is written when it is
// closed (streaming responses: what arrived until then, up to 4 MiB).
func TraceDir(next HTTPClient, dir string) (HTTPClient, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ewsclient: trace directory: %w", err)
	}
	t := &traceDir{dir: dir}
	return HTTPClientFunc(func(r *http.Request) (*http.Response, error) { return t.do(next, r) }), nil
}

type traceDir struct {
	dir string
	seq atomic.Int64
}

func (t *traceDir) do(next HTTPClient, r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	n := t.seq.Add(1)
	op := operation(body, r.Method)
	head := fmt.Sprintf("%s %s\n%s", r.Method, redactURL(r.URL), traceHeaders(r.Header))
	t.write(n, op, "request", head, body)
	resp, err := next.Do(r)
	if err != nil {
		t.write(n, op, "response", "no response: "+err.Error()+"\n", nil)
		return resp, err
	}
	head = fmt.Sprintf("%s %s\n%s", resp.Proto, resp.Status, traceHeaders(resp.Header))
	resp.Body = &tracedBody{ReadCloser: resp.Body, done: func(b []byte) { t.write(n, op, "response", head, b) }}
	return resp, nil
}

// write stores one message; a failure to write loses the trace file, never
// the request.
func (t *traceDir) write(n int64, op, kind, head string, body []byte) {
	ext := ".txt"
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '<' {
		ext = ".xml"
	}
	var b bytes.Buffer
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<?xml")) {
		// The declaration must come first; the comment follows it.
		decl, rest, _ := bytes.Cut(bytes.TrimSpace(body), []byte("?>"))
		b.Write(decl)
		b.WriteString("?>\n")
		body = rest
	}
	b.WriteString("<!--\n")
	// "--" may not appear inside an XML comment.
	b.WriteString(strings.ReplaceAll(head, "--", "- -"))
	b.WriteString("-->\n")
	b.Write(redactBody(body))
	name := fmt.Sprintf("%04d-%s-%s%s", n, op, kind, ext)
	_ = os.WriteFile(filepath.Join(t.dir, name), b.Bytes(), 0o600)
}

// tracedBody keeps what is read of a response and hands it over once, at
// Close or at the end of the body.
type tracedBody struct {
	io.ReadCloser
	buf  bytes.Buffer
	once sync.Once
	done func([]byte)
}

func (b *tracedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := traceBodyLimit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(n, room)])
	}
	if err == io.EOF {
		b.once.Do(func() { b.done(b.buf.Bytes()) })
	}
	return n, err
}

func (b *tracedBody) Close() error {
	b.once.Do(func() { b.done(b.buf.Bytes()) })
	return b.ReadCloser.Close()
}

// soapOperation finds the first element inside the SOAP Body.
var soapOperation = regexp.MustCompile(`<(?:[\w.-]+:)?Body[^>]*>\s*<(?:[\w.-]+:)?([\w.-]+)`)

// operation names a request for its file: the SOAP operation, else the
// HTTP method.
func operation(body []byte, method string) string {
	if m := soapOperation.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return method
}

func traceHeaders(h http.Header) string {
	var b strings.Builder
	writeHeaders(&b, h)
	return b.String()
}

// secretParam matches query parameter names that carry credentials.
var secretParam = regexp.MustCompile(`(?i)token|secret|password|passwd|sig|code|key`)

func redactURL(u *url.URL) string {
	c := *u
	q := c.Query()
	changed := false
	for k := range q {
		if secretParam.MatchString(k) {
			q.Set(k, "redacted")
			changed = true
		}
	}
	if changed {
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
}
