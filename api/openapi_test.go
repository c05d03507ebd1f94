package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/api/apitest"
)

// openAPIDoc is the part of an OpenAPI 3 document the tests check.
type openAPIDoc struct {
	OpenAPI    string                                 `yaml:"openapi"`
	Paths      map[string]map[string]openAPIOperation `yaml:"paths"`
	Components map[string]map[string]any              `yaml:"components"`
}

type openAPIOperation struct {
	Summary    string           `yaml:"summary"`
	Parameters []map[string]any `yaml:"parameters"`
	Responses  map[string]any   `yaml:"responses"`
}

func TestOpenAPIDocumentCoversEveryRoute(t *testing.T) {
	raw := api.OpenAPIDocument()
	var doc openAPIDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("api/openapi.yaml is not valid YAML: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	documented := map[string]openAPIOperation{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	registered := map[string]bool{}
	for _, rt := range api.Routes() {
		op := rt.Method + " " + rt.Path
		registered[op] = true
		if _, ok := documented[op]; !ok {
			t.Errorf("route %s is registered but not in api/openapi.yaml", op)
		}
	}
	for name, op := range documented {
		if !registered[name] {
			t.Errorf("api/openapi.yaml documents %s, which is not registered", name)
		}
		if op.Summary == "" || len(op.Responses) == 0 {
			t.Errorf("%s has no summary or no responses", name)
		}
		// Every {param} of the path template is declared.
		for _, seg := range strings.Split(strings.SplitN(name, " ", 2)[1], "/") {
			if !strings.HasPrefix(seg, "{") {
				continue
			}
			param := strings.Trim(seg, "{}")
			declared := false
			for _, p := range op.Parameters {
				if p["name"] == param && p["in"] == "path" {
					declared = true
				}
				if ref, _ := p["$ref"].(string); ref != "" {
					target := doc.Components["parameters"][strings.TrimPrefix(ref, "#/components/parameters/")]
					if m, ok := target.(map[string]any); ok && m["name"] == param && m["in"] == "path" {
						declared = true
					}
				}
			}
			if !declared {
				t.Errorf("%s does not declare its path parameter %q", name, param)
			}
		}
	}
	// Every $ref resolves to a defined component.
	for _, ref := range refsIn(raw) {
		parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
		if len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}
}

func refsIn(doc []byte) []string {
	var refs []string
	for _, part := range bytes.Split(doc, []byte(`$ref: "`))[1:] {
		end := bytes.IndexByte(part, '"')
		if ref := string(part[:end]); !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	return refs
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, envConfig{})
	resp, body := e.do(t, "GET", "/api/v1/openapi.yaml", "")
	if resp.StatusCode != 200 || !bytes.Equal(body, api.OpenAPIDocument()) {
		t.Errorf("GET /api/v1/openapi.yaml = %d, %d bytes; want the embedded document", resp.StatusCode, len(body))
	}
}

func TestMetricsExposeAPIAndStreamCounters(t *testing.T) {
	e := newEnv(t, envConfig{tokens: []string{"tok"}})
	e.do(t, "GET", "/api/v1/users", "")
	e.do(t, "GET", "/api/v1/users/nobody@example.com/presence", "")
	publishPresence(t, e, "bob@example.com", "busy")
	_, body := e.do(t, "GET", "/metrics", "")
	for _, want := range []string{
		`calsync_api_http_requests_total{code="200",method="GET",route="GET /api/v1/users"} 1`,
		`calsync_api_http_requests_total{code="404",method="GET",route="GET /api/v1/users/{user}/presence"} 1`,
		`calsync_sse_events_published_total{type="presence.changed"} 1`,
		`calsync_sse_clients 0`,
		`calsync_api_http_request_duration_seconds_count{route="GET /api/v1/users"} 1`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := api.New(api.Options{}); err == nil {
		t.Errorf("New without a presence source = nil error")
	}
	h, err := api.New(api.Options{Presence: apitest.NewPresence()})
	if err != nil {
		t.Fatalf("New with only presence: %v", err)
	}
	for _, path := range []string{"/api/v1/sync", "/api/v1/events", "/metrics", "/api/v1/users/x/agenda"} {
		rec := newRecorder()
		h.ServeHTTP(rec, mustRequest(t, "GET", path))
		if rec.status != http.StatusNotImplemented && rec.status != http.StatusNotFound {
			t.Errorf("GET %s without its source = %d, want 501 (or 404 for an unknown user)", path, rec.status)
		}
	}
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder                    { return &recorder{header: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.status = code }

func mustRequest(t *testing.T, method, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "http://calsync.test"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestServeShutsDownStreamsWithContext(t *testing.T) {
	e := newEnv(t, envConfig{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, _ := api.New(api.Options{Presence: e.presence, Events: e.log})
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, ln, h, "", "") }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("events = %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Serve did not return after its context ended (open event stream)")
	}
	if _, err := io.ReadAll(resp.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("stream ended with %v", err)
	}
	if err := api.Serve(context.Background(), mustListen(t), h, "cert.pem", ""); err == nil {
		t.Errorf("Serve with a certificate but no key = nil error")
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
