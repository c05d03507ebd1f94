package graphserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/calsync/calsync/graph/internal/graphwire"
)

// maxBatchBody bounds a $batch body (20 requests with small bodies).
const maxBatchBody = 4 << 20

// serveBatch is POST /$batch (graph-facts §5): at most 20 requests with
// unique ids, run one at a time (Outlook runs at most four in parallel),
// dependsOn honoured (a failed dependency gives 424), answers in an
// order of the server's choosing, each with its own status, headers and
// body. The outer status is 200 when the payload parses.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeError(w, r, errMethod())
		return
	}
	var req graphwire.BatchRequest
	if err := graphwire.Decode(r.Body, maxBatchBody, &req); err != nil {
		if errors.Is(err, graphwire.ErrTooLarge) {
			s.writeError(w, r, errorf(http.StatusRequestEntityTooLarge, "BadRequest", "The batch payload is larger than %d bytes.", maxBatchBody))
			return
		}
		s.writeError(w, r, errBadRequest("Invalid batch payload format: %v.", err))
		return
	}
	if e := checkBatch(req.Requests); e != nil {
		s.writeError(w, r, e)
		return
	}
	status := map[string]int{}
	done := map[string]bool{}
	out := make([]graphwire.BatchResponseItem, 0, len(req.Requests))
	// Requests run once their dependencies have; checkBatch refused
	// cycles and unknown ids, so every pass makes progress.
	for len(done) < len(req.Requests) {
		for _, it := range req.Requests {
			if done[it.ID] || !dependenciesDone(it, done) {
				continue
			}
			done[it.ID] = true
			if failedDependency(it, status) {
				status[it.ID] = http.StatusFailedDependency
				out = append(out, innerFailure(it.ID, errorf(http.StatusFailedDependency, "BadRequest", "Failed dependency."), s))
				continue
			}
			res := s.runInner(r, it)
			status[it.ID] = res.Status
			out = append(out, res)
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	writeJSON(w, http.StatusOK, graphwire.BatchResponse{Responses: out})
}

// checkBatch validates the request list before anything runs.
func checkBatch(reqs []graphwire.BatchRequestItem) *apiError {
	if len(reqs) == 0 {
		return errBadRequest("Invalid batch payload format: the requests array is empty.")
	}
	if len(reqs) > graphwire.MaxBatchRequests {
		return errBadRequest("The number of requests in the batch (%d) exceeds the limit of %d.", len(reqs), graphwire.MaxBatchRequests)
	}
	ids := map[string]bool{}
	for i, it := range reqs {
		switch {
		case it.ID == "":
			return errBadRequest("Request %d of the batch has no id.", i+1)
		case ids[it.ID]:
			return errBadRequest("Batch request ids must be unique; '%s' appears twice.", clip(it.ID, 40))
		case it.Method == "" || it.URL == "":
			return errBadRequest("Request '%s' of the batch needs a method and a url.", clip(it.ID, 40))
		case len(it.Body) > 0 && len(it.Headers) == 0:
			return errBadRequest("Request '%s' of the batch has a body but no headers (Content-Type is required).", clip(it.ID, 40))
		case strings.HasPrefix(strings.ToLower(strings.TrimPrefix(it.URL, "/")), "$batch"):
			return errBadRequest("Request '%s': a batch cannot contain a $batch.", clip(it.ID, 40))
		}
		ids[it.ID] = true
	}
	for _, it := range reqs {
		for _, d := range it.DependsOn {
			if !ids[d] || d == it.ID {
				return errBadRequest("Request '%s' depends on '%s', which is not an earlier request of the batch.", clip(it.ID, 40), clip(d, 40))
			}
		}
	}
	if hasCycle(reqs) {
		return errBadRequest("The dependsOn references of the batch form a cycle.")
	}
	return nil
}

func hasCycle(reqs []graphwire.BatchRequestItem) bool {
	deps := map[string][]string{}
	for _, it := range reqs {
		deps[it.ID] = it.DependsOn
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) bool
	visit = func(id string) bool {
		switch state[id] {
		case 1:
			return true
		case 2:
			return false
		}
		state[id] = 1
		for _, d := range deps[id] {
			if visit(d) {
				return true
			}
		}
		state[id] = 2
		return false
	}
	for _, it := range reqs {
		if visit(it.ID) {
			return true
		}
	}
	return false
}

func dependenciesDone(it graphwire.BatchRequestItem, done map[string]bool) bool {
	for _, d := range it.DependsOn {
		if !done[d] {
			return false
		}
	}
	return true
}

func failedDependency(it graphwire.BatchRequestItem, status map[string]int) bool {
	for _, d := range it.DependsOn {
		if status[d] < 200 || status[d] > 299 {
			return true
		}
	}
	return false
}

// runInner serves one inner request as if it came alone, with the outer
// request's credentials.
func (s *Server) runInner(outer *http.Request, it graphwire.BatchRequestItem) graphwire.BatchResponseItem {
	u := "/v1.0/" + strings.TrimPrefix(it.URL, "/")
	inner, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(it.Method), u, bytes.NewReader(it.Body))
	if err != nil {
		return innerFailure(it.ID, errBadRequest("Request '%s' has an invalid method or url.", clip(it.ID, 40)), s)
	}
	inner.Host, inner.TLS = outer.Host, outer.TLS
	for k, v := range it.Headers {
		inner.Header.Set(k, v)
	}
	inner.Header.Set("Authorization", outer.Header.Get("Authorization"))
	rec := &recorder{header: http.Header{}}
	s.setGraphHeaders(rec, inner)
	s.serveGraph(rec, inner)
	res := graphwire.BatchResponseItem{ID: it.ID, Status: rec.status, Headers: map[string]string{}}
	for _, k := range []string{"Content-Type", "Retry-After", "Location", "Preference-Applied"} {
		if v := rec.header.Get(k); v != "" {
			res.Headers[k] = v
		}
	}
	if rec.body.Len() > 0 && json.Valid(rec.body.Bytes()) {
		res.Body = json.RawMessage(rec.body.Bytes())
	}
	return res
}

func innerFailure(id string, e *apiError, s *Server) graphwire.BatchResponseItem {
	b, _ := json.Marshal(errorPayload(e, newGUID(), "", s.now()))
	h := map[string]string{"Content-Type": contentType}
	return graphwire.BatchResponseItem{ID: id, Status: e.status, Headers: h, Body: b}
}

// recorder collects an inner request's answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
