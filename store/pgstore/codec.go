package pgstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// The jsonb columns hold these row types rather than the store and
// calendar structs themselves, so that renaming a Go field cannot silently
// change (and lose) what is stored: the JSON names are the schema.

type checkpointRow struct {
	WindowStart      time.Time `json:"window_start"`
	WindowEnd        time.Time `json:"window_end"`
	SyncState        string    `json:"sync_state,omitempty"`
	SubscriptionID   string    `json:"subscription_id,omitempty"`
	Watermark        string    `json:"watermark,omitempty"`
	NotificationMode string    `json:"notification_mode,omitempty"`
	LoadedAt         time.Time `json:"loaded_at"`
}

type statusRow struct {
	State               string           `json:"state,omitempty"`
	Group               string           `json:"group,omitempty"`
	Connection          string           `json:"connection,omitempty"`
	EWSURL              string           `json:"ews_url,omitempty"`
	TimeZone            string           `json:"time_zone,omitempty"`
	LastEvent           time.Time        `json:"last_event"`
	LastVerified        time.Time        `json:"last_verified"`
	LastError           *store.SyncError `json:"last_error,omitempty"`
	Occurrences         int              `json:"occurrences,omitempty"`
	ConsecutiveFailures int              `json:"consecutive_failures,omitempty"`
}

type oofRow struct {
	State         calendar.OOFState `json:"state"`
	Start         time.Time         `json:"start"`
	End           time.Time         `json:"end"`
	InternalReply string            `json:"internal_reply,omitempty"`
}

type occurrenceRow struct {
	ItemID      string                `json:"item_id"`
	ChangeKey   string                `json:"change_key,omitempty"`
	MasterID    string                `json:"master_id,omitempty"`
	UID         string                `json:"uid,omitempty"`
	Kind        calendar.ItemKind     `json:"kind,omitempty"`
	Subject     string                `json:"subject,omitempty"`
	Location    string                `json:"location,omitempty"`
	Organizer   string                `json:"organizer,omitempty"`
	Categories  []string              `json:"categories,omitempty"`
	Start       time.Time             `json:"start"`
	End         time.Time             `json:"end"`
	AllDay      bool                  `json:"all_day,omitempty"`
	TimeZone    string                `json:"time_zone,omitempty"`
	FreeBusy    calendar.FreeBusy     `json:"free_busy,omitempty"`
	Sensitivity calendar.Sensitivity  `json:"sensitivity,omitempty"`
	Response    calendar.ResponseType `json:"response,omitempty"`
	IsMeeting   bool                  `json:"is_meeting,omitempty"`
	Cancelled   bool                  `json:"cancelled,omitempty"`
}

func encodeCheckpoint(cp store.Checkpoint) checkpointRow {
	return checkpointRow{
		WindowStart: utc(cp.Window.Start), WindowEnd: utc(cp.Window.End),
		SyncState: cp.SyncState, SubscriptionID: cp.SubscriptionID, Watermark: cp.Watermark,
		NotificationMode: cp.NotificationMode, LoadedAt: utc(cp.LoadedAt),
	}
}

func (r checkpointRow) decode() store.Checkpoint {
	return store.Checkpoint{
		Window:    calendar.Window{Start: utc(r.WindowStart), End: utc(r.WindowEnd)},
		SyncState: r.SyncState, SubscriptionID: r.SubscriptionID, Watermark: r.Watermark,
		NotificationMode: r.NotificationMode, LoadedAt: utc(r.LoadedAt),
	}
}

func encodeStatus(st store.MailboxStatus) statusRow {
	r := statusRow{
		State: st.State, Group: st.Group, Connection: st.Connection, EWSURL: st.EWSURL, TimeZone: st.TimeZone,
		LastEvent: utc(st.LastEvent), LastVerified: utc(st.LastVerified),
		Occurrences: st.Occurrences, ConsecutiveFailures: st.ConsecutiveFailures,
	}
	if st.LastError != nil {
		e := *st.LastError
		e.At = utc(e.At)
		r.LastError = &e
	}
	return r
}

func (r statusRow) decode(smtp string) store.MailboxStatus {
	st := store.MailboxStatus{
		SMTP: smtp, State: r.State, Group: r.Group, Connection: r.Connection, EWSURL: r.EWSURL, TimeZone: r.TimeZone,
		LastEvent: utc(r.LastEvent), LastVerified: utc(r.LastVerified), LastError: r.LastError,
		Occurrences: r.Occurrences, ConsecutiveFailures: r.ConsecutiveFailures,
	}
	if st.LastError != nil {
		st.LastError.At = utc(st.LastError.At)
	}
	return st
}

func encodeOOF(o calendar.OOFSettings) oofRow {
	return oofRow{State: o.State, Start: utc(o.Start), End: utc(o.End), InternalReply: o.InternalReply}
}

func (r oofRow) decode() calendar.OOFSettings {
	return calendar.OOFSettings{State: r.State, Start: utc(r.Start), End: utc(r.End), InternalReply: r.InternalReply}
}

func encodeOccurrence(o calendar.Occurrence) occurrenceRow {
	return occurrenceRow(store.NormalizeOccurrence(o))
}

func (r occurrenceRow) decode() calendar.Occurrence {
	return store.NormalizeOccurrence(calendar.Occurrence(r))
}

// marshal encodes a row type; the row types hold only strings, numbers,
// booleans and times, so an error means a time outside JSON's range.
func marshal(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("pgstore: encode %s: %w", what, err)
	}
	return b, nil
}

func unmarshal(what string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("pgstore: stored %s does not decode: %w", what, err)
	}
	return nil
}

// utc converts t to UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// nullTime maps the zero time to SQL NULL (timestamptz has no year 1).
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return utc(*t)
}

// nonNil keeps an empty document or payload NOT NULL in the database;
// reading gives nil back for it (emptyNil).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func emptyNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
