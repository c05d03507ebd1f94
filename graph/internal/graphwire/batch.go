package graphwire

import "encoding/json"

// MaxBatchRequests is the most requests one $batch may carry.
const MaxBatchRequests = 20

// BatchRequest is the body of POST /$batch.
type BatchRequest struct {
	Requests []BatchRequestItem `json:"requests"`
}

// BatchRequestItem is one inner request; URL is relative ("/users/…").
// Headers are required when Body is set.
type BatchRequestItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// BatchResponse is the answer of POST /$batch; responses come in any order.
type BatchResponse struct {
	Responses []BatchResponseItem `json:"responses"`
	NextLink  string              `json:"@odata.nextLink,omitempty"`
}

// BatchResponseItem is one inner answer with its own status and headers
// (an inner 429 has its own Retry-After).
type BatchResponseItem struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}
