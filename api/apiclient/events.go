package apiclient

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Event is one Server-Sent Event.
type Event struct {
	ID   string
	Type string
	Data string
}

// EventStream reads events from GET /api/v1/events. Not safe for
// concurrent use; Close ends it.
type EventStream struct {
	body   io.ReadCloser
	reader *bufio.Reader
	// LastID is the id of the last event read, for resuming.
	LastID string
}

// Events opens the event stream. lastEventID, when not empty, is sent as
// Last-Event-ID so that the server replays what was missed; users, when
// given, limit the stream to events about them.
func (c *Client) Events(ctx context.Context, lastEventID string, users ...string) (*EventStream, error) {
	q := url.Values{}
	for _, u := range users {
		q.Add("user", u)
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/events", q, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("apiclient: GET /api/v1/events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, decodeError(resp.StatusCode, data)
	}
	return &EventStream{body: resp.Body, reader: bufio.NewReader(resp.Body), LastID: lastEventID}, nil
}

// Next blocks until the next event (comments and heartbeats are skipped).
// It returns an error when the stream ends or its context is cancelled.
func (s *EventStream) Next() (Event, error) {
	var ev Event
	var data []string
	for {
		line, err := s.reader.ReadString('\n')
		if err != nil {
			return Event{}, fmt.Errorf("apiclient: event stream: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(data) == 0 && ev.Type == "" && ev.ID == "" {
				continue
			}
			ev.Data = strings.Join(data, "\n")
			if ev.ID != "" {
				s.LastID = ev.ID
			}
			return ev, nil
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.ID = value
		case "event":
			ev.Type = value
		case "data":
			data = append(data, value)
		}
	}
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
