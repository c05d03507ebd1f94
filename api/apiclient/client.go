// Package apiclient is a Go client of calsync's REST API and event stream.
// The tests use it, and so will the command-line tools. Every call takes a
// context; failures of the API come back as *Error with the HTTP status and
// the API's error code.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/api"
)

// Client talks to one calsync instance. Safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client for baseURL ("http://127.0.0.1:8080"). token may be
// empty for an instance without tokens; hc nil means http.DefaultClient.
func New(baseURL, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("apiclient: base URL must be http(s)://host[:port], got %q", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, token: token, http: hc}, nil
}

// Error is a non-2xx answer of the API.
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("apiclient: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("apiclient: encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("apiclient: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends a request and decodes a 2xx JSON answer into out (if non-nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("apiclient: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("apiclient: reading %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("apiclient: decoding %s %s: %w", method, path, err)
	}
	return nil
}

func decodeError(status int, data []byte) error {
	var body api.ErrorBody
	if err := json.Unmarshal(data, &body); err != nil || body.Error.Code == "" {
		return &Error{Status: status, Code: "http_error", Message: strings.TrimSpace(string(data))}
	}
	return &Error{Status: status, Code: body.Error.Code, Message: body.Error.Message}
}

func userPath(user, suffix string) string {
	return "/api/v1/users/" + url.PathEscape(user) + suffix
}

// ListUsersOptions filters and pages GET /api/v1/users.
type ListUsersOptions struct {
	Offset, Limit int
	Query         string
	Availability  []string
	// Sync is "healthy", "unhealthy" or empty.
	Sync string
}

// Users returns one page of users with presence.
func (c *Client) Users(ctx context.Context, o ListUsersOptions) (api.UserListDTO, error) {
	q := url.Values{}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Query != "" {
		q.Set("q", o.Query)
	}
	if len(o.Availability) > 0 {
		q.Set("availability", strings.Join(o.Availability, ","))
	}
	if o.Sync != "" {
		q.Set("sync", o.Sync)
	}
	var out api.UserListDTO
	err := c.do(ctx, http.MethodGet, "/api/v1/users", q, nil, &out)
	return out, err
}

// Me returns the role of the client's token (read or admin).
func (c *Client) Me(ctx context.Context) (api.MeDoc, error) {
	var out api.MeDoc
	err := c.do(ctx, http.MethodGet, "/api/v1/me", nil, nil, &out)
	return out, err
}

// Presence returns one user's presence with why and next.
func (c *Client) Presence(ctx context.Context, user string) (api.PresenceDTO, error) {
	var out api.PresenceDTO
	err := c.do(ctx, http.MethodGet, userPath(user, "/presence"), nil, nil, &out)
	return out, err
}

// Agenda returns a user's occurrences overlapping [start, end); zero
// instants leave the server's defaults.
func (c *Client) Agenda(ctx context.Context, user string, start, end time.Time) (api.AgendaDTO, error) {
	q := url.Values{}
	if !start.IsZero() {
		q.Set("start", start.UTC().Format(time.RFC3339))
	}
	if !end.IsZero() {
		q.Set("end", end.UTC().Format(time.RFC3339))
	}
	var out api.AgendaDTO
	err := c.do(ctx, http.MethodGet, userPath(user, "/agenda"), q, nil, &out)
	return out, err
}

// SyncStatus returns a mailbox's sync status.
func (c *Client) SyncStatus(ctx context.Context, user string) (api.SyncStatusDTO, error) {
	var out api.SyncStatusDTO
	err := c.do(ctx, http.MethodGet, userPath(user, "/sync"), nil, nil, &out)
	return out, err
}

// SyncOverviewOptions filters and pages GET /api/v1/sync.
type SyncOverviewOptions struct {
	Offset, Limit int
	Query         string
	// Health is "healthy", "unhealthy" or empty.
	Health string
}

// SyncOverview returns totals, connection groups and a page of statuses.
func (c *Client) SyncOverview(ctx context.Context, o SyncOverviewOptions) (api.SyncOverviewDTO, error) {
	q := url.Values{}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Query != "" {
		q.Set("q", o.Query)
	}
	if o.Health != "" {
		q.Set("health", o.Health)
	}
	var out api.SyncOverviewDTO
	err := c.do(ctx, http.MethodGet, "/api/v1/sync", q, nil, &out)
	return out, err
}

// SetOverride sets a manual presence override.
func (c *Client) SetOverride(ctx context.Context, user string, req api.OverrideRequest) (api.PresenceDTO, error) {
	var out api.PresenceDTO
	err := c.do(ctx, http.MethodPut, userPath(user, "/override"), nil, req, &out)
	return out, err
}

// ClearOverride removes a manual override.
func (c *Client) ClearOverride(ctx context.Context, user string) (api.PresenceDTO, error) {
	var out api.PresenceDTO
	err := c.do(ctx, http.MethodDelete, userPath(user, "/override"), nil, nil, &out)
	return out, err
}

// DryRun previews a user's presence timeline.
func (c *Client) DryRun(ctx context.Context, user string, req api.DryRunRequest) (api.DryRunDTO, error) {
	var out api.DryRunDTO
	err := c.do(ctx, http.MethodPost, userPath(user, "/dry-run"), nil, req, &out)
	return out, err
}

// SyncNow asks the engine to resynchronise a mailbox and waits for the result.
func (c *Client) SyncNow(ctx context.Context, user string) error {
	return c.do(ctx, http.MethodPost, userPath(user, "/sync-now"), nil, nil, nil)
}

// Ready returns the readiness document; a 503 answer is returned as the
// document together with an *Error.
func (c *Client) Ready(ctx context.Context) (api.ReadinessDTO, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/readyz", nil, nil)
	if err != nil {
		return api.ReadinessDTO{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return api.ReadinessDTO{}, fmt.Errorf("apiclient: GET /readyz: %w", err)
	}
	defer resp.Body.Close()
	var out api.ReadinessDTO
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("apiclient: decoding /readyz: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return out, &Error{Status: resp.StatusCode, Code: out.Status, Message: out.Error}
	}
	return out, nil
}
