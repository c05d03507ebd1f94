package graphclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/graph"
)

// Answers no Graph sends must end in a precise error, never a panic, a
// hang or the token going to another host.
func TestHostileAnswers(t *testing.T) {
	f := newFakeGraph(t)
	var evilCalls int
	evil := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evilCalls++ })
	f.mux.Handle("GET /evil/", evil)
	f.mux.HandleFunc("GET /v1.0/users/{id}/calendarView", func(w http.ResponseWriter, r *http.Request) {
		self := "http://" + r.Host + r.URL.Path
		switch r.PathValue("id") {
		case "badjson":
			w.Write([]byte(`{"value":[{"id":"a",`))
		case "wrongtype":
			w.Write([]byte(`{"value":{"id":"a"}}`))
		case "noid":
			w.Write([]byte(`{"value":[{"subject":"x"}]}`))
		case "huge":
			w.Write([]byte(`{"value":[{"id":"` + strings.Repeat("a", 4096) + `"}]}`))
		case "loop":
			writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.nextLink": self + "?$skiptoken=same"})
		case "elsewhere":
			writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.nextLink": "http://127.0.0.2:1/evil/next"})
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			w.Write([]byte("<html>Bad Gateway</html>"))
		case "empty":
		case "hugeerror":
			w.Header().Set("Retry-After", "3")
			graphError(w, 503, "serviceNotAvailable", strings.Repeat("x", 5000))
		case "hang":
			<-r.Context().Done()
		case "longmsg":
			graphError(w, 500, "generalException", strings.Repeat("x\n", 500))
		}
	})
	c := f.client(t, nil, func(o *Options) {
		o.MaxResponseBytes = 2048
		o.Timeout = 300 * time.Millisecond
		o.ThrottleRetries = -1
	})
	for _, tc := range []struct {
		mailbox string
		class   graph.Class
		want    string
	}{
		{"badjson", graph.ClassProtocol, "calendarView: invalid response: "},
		{"wrongtype", graph.ClassProtocol, `JSON field "value"`},
		{"noid", graph.ClassProtocol, "value[0] (page 1) has no id"},
		{"huge", graph.ClassProtocol, "answer over 2048 bytes"},
		{"loop", graph.ClassProtocol, "nextLink repeats"},
		{"elsewhere", graph.ClassProtocol, "is not on http://127.0.0.1"},
		{"html", graph.ClassTransient, "HTTP 502"},
		{"empty", graph.ClassProtocol, "empty body"},
		{"hang", graph.ClassTransient, "network"},
		{"longmsg", graph.ClassTransient, "generalException"},
		{"hugeerror", graph.ClassThrottled, "HTTP 503 (retry after 3s)"},
	} {
		_, err := c.CalendarView(ctxT(t), tc.mailbox, t0, t0.Add(time.Hour), ViewOptions{})
		if err == nil {
			t.Errorf("%s: no error", tc.mailbox)
			continue
		}
		if got := graph.Classify(err); got != tc.class {
			t.Errorf("%s: class %s, want %s (%v)", tc.mailbox, got, tc.class, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not say %q", tc.mailbox, err, tc.want)
		}
		if len(err.Error()) > 600 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error not kept short and on one line: %d bytes", tc.mailbox, len(err.Error()))
		}
	}
	var ne *graph.NetworkError
	if _, err := c.CalendarView(ctxT(t), "hang", t0, t0.Add(time.Hour), ViewOptions{}); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("hang: %v, want a network timeout", err)
	}
	if evilCalls != 0 {
		t.Errorf("followed a link to another host %d times", evilCalls)
	}
}
