package ewsclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// MaxAvailabilityWindow is the longest window calsync asks free/busy for
// (Microsoft documents 42 days).
const MaxAvailabilityWindow = 42 * 24 * time.Hour

// AvailabilityRequest asks free/busy for up to 100 mailboxes.
type AvailabilityRequest struct {
	Mailboxes []ews.MailboxData
	// Start and End bound the window. Without TimeZone they are converted
	// to UTC; with TimeZone their wall-clock values are sent as they are.
	Start, End time.Time
	// IntervalMinutes is the MergedFreeBusy interval, 5..1440 (default 30).
	IntervalMinutes int
	// View defaults to FreeBusyMerged.
	View ews.FreeBusyViewType
	// TimeZone defaults to UTC, so returned times are UTC.
	TimeZone *ews.LegacyTimeZone
}

// AvailabilityResult is one mailbox's view, or its error.
type AvailabilityResult struct {
	View ews.FreeBusyView
	Err  error
}

// GetUserAvailability returns one result per mailbox, in input order.
func (c *Client) GetUserAvailability(ctx context.Context, call Call, req AvailabilityRequest) ([]AvailabilityResult, error) {
	const op = "GetUserAvailability"
	n := len(req.Mailboxes)
	if n == 0 || n > ews.MaxAvailabilityMailboxes {
		return nil, fmt.Errorf("ewsclient: %s: %d mailboxes, want 1..%d", op, n, ews.MaxAvailabilityMailboxes)
	}
	if !req.End.After(req.Start) {
		return nil, fmt.Errorf("ewsclient: %s: window [%s, %s) is empty or reversed", op, req.Start, req.End)
	}
	if req.End.Sub(req.Start) > MaxAvailabilityWindow {
		return nil, fmt.Errorf("ewsclient: %s: window longer than 42 days", op)
	}
	interval := req.IntervalMinutes
	if interval == 0 {
		interval = 30
	}
	if interval < 5 || interval > 1440 || time.Duration(interval)*time.Minute > req.End.Sub(req.Start) {
		return nil, fmt.Errorf("ewsclient: %s: interval %d minutes out of range (5..1440, not longer than the window)", op, interval)
	}
	view := req.View
	if view == "" {
		view = ews.ViewFreeBusyMerged
	}
	tz := ews.UTCLegacyTimeZone()
	start, end := req.Start.UTC(), req.End.UTC()
	if req.TimeZone != nil {
		// Wall-clock times in the caller's zone, as given.
		tz = *req.TimeZone
		start, end = req.Start, req.End
	}
	wtz := ewswire.TimeZoneFrom(tz)
	w := &ewswire.GetUserAvailabilityRequest{TimeZone: &wtz}
	for i, m := range req.Mailboxes {
		if m.Email.EmailAddress == "" {
			return nil, fmt.Errorf("ewsclient: %s: mailbox %d has no address", op, i)
		}
		at := m.AttendeeType
		if at == "" {
			at = ews.AttendeeRequired
		}
		var md ewswire.MailboxData
		md.Email.Name, md.Email.Address = m.Email.Name, m.Email.EmailAddress
		md.AttendeeType = string(at)
		ex := m.ExcludeConflicts
		md.ExcludeConflicts = &ex
		w.MailboxDataArray.MailboxData = append(w.MailboxDataArray.MailboxData, md)
	}
	opts := &ewswire.FreeBusyViewOptions{MergedFreeBusyIntervalInMinutes: interval, RequestedView: string(view)}
	opts.TimeWindow.StartTime = ewswire.LocalDateTime{Time: start}
	opts.TimeWindow.EndTime = ewswire.LocalDateTime{Time: end}
	w.FreeBusyViewOptions = opts
	var resp ewswire.GetUserAvailabilityResponse
	if _, err := c.roundTrip(ctx, call, op, w, &resp); err != nil {
		return nil, err
	}
	list := resp.FreeBusyResponseArray.FreeBusyResponse
	if len(list) == 1 && n > 1 && list[0].ResponseMessage != nil {
		// An error of the whole request (ErrorMailboxDataArrayTooBig, an
		// unsupported operation, throttling) comes as one error message,
		// however many mailboxes were asked.
		if err := list[0].ResponseMessage.Err(op, 0); err != nil {
			return nil, err
		}
	}
	if err := ewswire.CheckCount(op, len(list), n); err != nil {
		return nil, err
	}
	out := make([]AvailabilityResult, n)
	for i, r := range list {
		if r.ResponseMessage == nil {
			out[i].Err = &ews.ProtocolError{Op: op, Err: fmt.Errorf("free/busy response %d without ResponseMessage", i)}
			continue
		}
		if err := r.ResponseMessage.Err(op, i); err != nil {
			out[i].Err = err
			continue
		}
		if r.FreeBusyView == nil {
			out[i].Err = &ews.ProtocolError{Op: op, Err: errors.New("response without FreeBusyView")}
			continue
		}
		v, err := r.FreeBusyView.ToEWS()
		if err != nil {
			out[i].Err = &ews.ProtocolError{Op: op, Err: err}
			continue
		}
		out[i].View = v
	}
	return out, nil
}
