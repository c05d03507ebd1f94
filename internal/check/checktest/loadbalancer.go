package checktest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// Ways a load balancer or reverse proxy in front of Exchange breaks
// GetStreamingEvents while passing every other request.
type LBMode int

const (
	LBPass           LBMode = iota
	LBBadGateway            // answers 502 Bad Gateway
	LBCloseAfterHead        // sends 200 and the headers, then closes
	LBBuffer                // buffers the whole (endless) response
)

// LoadBalancer wraps the simulator: GetStreamingEvents requests are
// mistreated as mode says; everything else passes through.
func LoadBalancer(mode LBMode) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if mode == LBPass || r.Method != http.MethodPost || !strings.EqualFold(r.URL.Path, "/EWS/Exchange.asmx") {
				next.ServeHTTP(w, r)
				return
			}
			var body bytes.Buffer
			if _, err := body.ReadFrom(r.Body); err != nil {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			r = r.Clone(r.Context())
			r.Body = io.NopCloser(&body)
			if !strings.Contains(body.String(), "GetStreamingEvents") {
				next.ServeHTTP(w, r)
				return
			}
			switch mode {
			case LBBadGateway:
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
			case LBCloseAfterHead:
				w.Header().Set("Content-Type", "text/xml; charset=utf-8")
				w.WriteHeader(http.StatusOK)
				_ = http.NewResponseController(w).Flush()
			case LBBuffer:
				buf := &bufferingWriter{header: http.Header{}}
				next.ServeHTTP(buf, r) // ends when the client gives up
				for k, v := range buf.header {
					w.Header()[k] = v
				}
				w.WriteHeader(buf.status)
				_, _ = w.Write(buf.body.Bytes())
			}
		})
	}
}

// bufferingWriter holds a response until the handler returns, claiming to
// flush (as a buffering proxy appears to the server).
type bufferingWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferingWriter) Header() http.Header { return b.header }
func (b *bufferingWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferingWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferingWriter) FlushError() error { return nil }
