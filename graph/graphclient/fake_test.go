package graphclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calsync/calsync/internal/clock"
)

// fakeGraph is an httptest server answering the documented shapes of
// graph-facts.md: a token endpoint under /tenant/oauth2/v2.0/token and
// Graph routes under /v1.0 registered per test.
type fakeGraph struct {
	srv         *httptest.Server
	mux         *http.ServeMux
	tokenCalls  atomic.Int32
	tokenForm   atomic.Value // url.Values of the last token request
	mu          sync.Mutex
	tokens      []string // bearer tokens Graph calls carried
	tokenAnswer func(w http.ResponseWriter, r *http.Request)
}

func newFakeGraph(t *testing.T) *fakeGraph {
	f := &fakeGraph{mux: http.NewServeMux()}
	f.mux.HandleFunc("POST /tenant/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		n := f.tokenCalls.Add(1)
		_ = r.ParseForm()
		f.tokenForm.Store(r.PostForm)
		if f.tokenAnswer != nil {
			f.tokenAnswer(w, r)
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "tok" + strconv.Itoa(int(n))})
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") {
			f.mu.Lock()
			f.tokens = append(f.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			f.mu.Unlock()
		}
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) creds() Credentials {
	return Credentials{TenantID: "tenant", ClientID: "client-1", ClientSecret: "s3cret", LoginURL: f.srv.URL}
}

// client returns a client with a real token source on the fake endpoint.
func (f *fakeGraph) client(t *testing.T, clk clock.Clock, mod func(*Options)) *Client {
	t.Helper()
	ts, err := NewTokenSource(f.creds(), &TokenOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{GraphURL: f.srv.URL + "/v1.0", Clock: clk}
	if mod != nil {
		mod(o)
	}
	c, err := New(ts, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeGraph) bearers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.tokens...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"request-id": "req-1", "date": "2019-05-24T10:16:21"}}})
}

func event(id, start, end string) map[string]any {
	return map[string]any{"id": id, "type": "singleInstance", "subject": "s " + id, "showAs": "busy",
		"start": map[string]string{"dateTime": start, "timeZone": "UTC"},
		"end":   map[string]string{"dateTime": end, "timeZone": "UTC"}}
}

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }
