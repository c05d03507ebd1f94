package api

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// The types below are the JSON documents of the API. They are separate from
// the domain types so that the wire format changes only on purpose; the
// To… functions convert. Instants are RFC 3339 in UTC; absent instants are
// omitted rather than sent as the zero time.

// PresenceDTO is a user's presence with why and the next transition.
type PresenceDTO struct {
	User         string         `json:"user"`
	Availability string         `json:"availability"`
	Profile      string         `json:"profile,omitempty"`
	StatusText   string         `json:"status_text,omitempty"`
	ForwardTo    string         `json:"forward_to,omitempty"`
	Since        *time.Time     `json:"since,omitempty"`
	Until        *time.Time     `json:"until,omitempty"`
	Why          ReasonDTO      `json:"why"`
	Next         *TransitionDTO `json:"next,omitempty"`
	ComputedAt   *time.Time     `json:"computed_at,omitempty"`
	// TimeZone is the IANA zone the status text is rendered in: the
	// mailbox's own, else the configured default.
	TimeZone string `json:"time_zone,omitempty"`
}

// ReasonDTO says which input and which rule produced a presence.
type ReasonDTO struct {
	Source  string     `json:"source"`
	Rule    string     `json:"rule,omitempty"`
	ItemID  string     `json:"item_id,omitempty"`
	Subject string     `json:"subject,omitempty"`
	Start   *time.Time `json:"start,omitempty"`
	End     *time.Time `json:"end,omitempty"`
	Detail  string     `json:"detail,omitempty"`
}

// TransitionDTO is a planned presence change.
type TransitionDTO struct {
	At           time.Time `json:"at"`
	Availability string    `json:"availability"`
	StatusText   string    `json:"status_text,omitempty"`
}

// UserDTO is one entry of the user list: presence plus a sync summary.
type UserDTO struct {
	PresenceDTO
	Sync *SyncSummaryDTO `json:"sync,omitempty"`
}

// SyncSummaryDTO is the short sync health shown in the user list.
type SyncSummaryDTO struct {
	State     string `json:"state"`
	Healthy   bool   `json:"healthy"`
	Group     string `json:"group,omitempty"`
	HostedOn  string `json:"hosted_on,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// UserListDTO is a page of the user list.
type UserListDTO struct {
	// Total is the number of users matching the filter.
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	// Counts are the users per availability over all users (unfiltered).
	Counts map[string]int `json:"counts"`
	// EventID is the id of the last event published before this list was
	// built: open the event stream with last_event_id=EventID to miss nothing.
	EventID uint64    `json:"event_id"`
	Users   []UserDTO `json:"users"`
}

// SyncErrorDTO is the last error of a mailbox with the administrator hint.
type SyncErrorDTO struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Hint    string     `json:"hint,omitempty"`
	At      *time.Time `json:"at,omitempty"`
}

// SyncStatusDTO is the sync status of one mailbox.
type SyncStatusDTO struct {
	User                string        `json:"user"`
	State               string        `json:"state"`
	Healthy             bool          `json:"healthy"`
	Group               string        `json:"group,omitempty"`
	HostedOn            string        `json:"hosted_on,omitempty"`
	Connection          string        `json:"connection,omitempty"`
	EWSURL              string        `json:"ews_url,omitempty"`
	TimeZone            string        `json:"time_zone,omitempty"`
	LastEvent           *time.Time    `json:"last_event,omitempty"`
	LastVerified        *time.Time    `json:"last_verified,omitempty"`
	LastError           *SyncErrorDTO `json:"last_error,omitempty"`
	Occurrences         int           `json:"occurrences"`
	ConsecutiveFailures int           `json:"consecutive_failures"`
}

// ConnectionGroup summarises the mailboxes of one affinity group.
type ConnectionGroup struct {
	// Key is the affinity group key (GroupingInformation + EWS URL).
	Key string `json:"key"`
	// Connections names the streaming connections or pull loops serving it.
	Connections []string `json:"connections"`
	Mailboxes   int      `json:"mailboxes"`
	Healthy     int      `json:"healthy"`
	Unhealthy   int      `json:"unhealthy"`
	// States counts the mailboxes per engine state.
	States map[string]int `json:"states"`
	// LastEvent is the newest change notification of the group's mailboxes.
	LastEvent *time.Time `json:"last_event,omitempty"`
	// Pending counts mailboxes notified of a change and not read since;
	// LagSeconds is how long the oldest of those notifications has waited
	// (0 when none waits): the group's lag.
	Pending    int     `json:"pending"`
	LagSeconds float64 `json:"lag_seconds"`
	// ChangedLast5m counts the group's mailboxes notified of a change in
	// the five minutes before the answer and read since: the group's
	// throughput.
	ChangedLast5m int `json:"changed_last_5m"`
	// Anchor, Subscriptions and Streams come from the engine's streaming
	// groups when available.
	Anchor        string                `json:"anchor,omitempty"`
	Subscriptions int                   `json:"subscriptions,omitempty"`
	Streams       []StreamConnectionDTO `json:"streams,omitempty"`
}

// StreamConnectionDTO is one streaming-notification connection of a group.
type StreamConnectionDTO struct {
	Name          string     `json:"name"`
	State         string     `json:"state"`
	Subscriptions int        `json:"subscriptions"`
	Since         *time.Time `json:"since,omitempty"`
	LastMessage   *time.Time `json:"last_message,omitempty"`
	Reconnects    int        `json:"reconnects"`
	LastError     string     `json:"last_error,omitempty"`
}

// SyncOverviewDTO is GET /api/v1/sync: group summaries and a page of statuses.
type SyncOverviewDTO struct {
	// Exchange is the state of Exchange as a whole (absent without a source).
	Exchange  *ExchangeDTO      `json:"exchange,omitempty"`
	Mailboxes int               `json:"mailboxes"`
	Healthy   int               `json:"healthy"`
	Unhealthy int               `json:"unhealthy"`
	Groups    []ConnectionGroup `json:"groups"`
	// Total is the number of statuses matching the filter.
	Total    int             `json:"total"`
	Offset   int             `json:"offset"`
	Limit    int             `json:"limit"`
	Statuses []SyncStatusDTO `json:"statuses"`
}

// AgendaItemDTO is one occurrence, with privacy applied.
type AgendaItemDTO struct {
	ItemID     string   `json:"item_id"`
	Kind       string   `json:"kind,omitempty"`
	Subject    string   `json:"subject,omitempty"`
	Location   string   `json:"location,omitempty"`
	Organizer  string   `json:"organizer,omitempty"`
	Categories []string `json:"categories,omitempty"`
	// Private is true when subject, location, organizer and categories are
	// masked because the item is private or confidential.
	Private     bool      `json:"private"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	AllDay      bool      `json:"all_day"`
	TimeZone    string    `json:"time_zone,omitempty"`
	FreeBusy    string    `json:"free_busy"`
	Sensitivity string    `json:"sensitivity,omitempty"`
	Response    string    `json:"response,omitempty"`
	IsMeeting   bool      `json:"is_meeting"`
	Cancelled   bool      `json:"cancelled"`
}

// AgendaDTO is a user's agenda over [start, end).
type AgendaDTO struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// TimeZone is the user's IANA zone; the default range is the user's
	// local day in it.
	TimeZone string          `json:"time_zone,omitempty"`
	Items    []AgendaItemDTO `json:"items"`
}

// OverrideRequest is the body of PUT /api/v1/users/{user}/override.
type OverrideRequest struct {
	Availability string `json:"availability"`
	// Profile is the presence profile name; it defaults to the availability.
	Profile    string `json:"profile,omitempty"`
	StatusText string `json:"status_text,omitempty"`
	ForwardTo  string `json:"forward_to,omitempty"`
	// Until ends the override; omitted means "until the next calendar transition".
	Until *time.Time `json:"until,omitempty"`
}

// DryRunRequest is the body of POST /api/v1/users/{user}/dry-run; every
// field is optional.
type DryRunRequest struct {
	// Start defaults to now.
	Start *time.Time `json:"start,omitempty"`
	// Days is the preview length (1–14, default 7) unless End is set.
	Days int        `json:"days,omitempty"`
	End  *time.Time `json:"end,omitempty"`
	// Rules is a proposed rule set in the config's rule format; omitted
	// means the current rules.
	Rules json.RawMessage `json:"rules,omitempty"`
}

// DryRunDTO is the previewed presence timeline.
type DryRunDTO struct {
	User     string        `json:"user"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Rules    string        `json:"rules"` // "current" or "proposed"
	Timeline []PresenceDTO `json:"timeline"`
}

// ReadinessDTO is the body of /readyz.
type ReadinessDTO struct {
	Status string `json:"status"` // "ready", "degraded" or "not_ready"
	Error  string `json:"error,omitempty"`
	// Exchange is the state of Exchange as a whole; a state other than ok
	// makes the instance degraded.
	Exchange *ExchangeDTO `json:"exchange,omitempty"`
	// Problems lists up to MaxReadinessExamples unhealthy mailboxes (in
	// address order); only shown to authenticated callers.
	Problems []MailboxProblemDTO `json:"problems,omitempty"`
	// ProblemCount is the number of unhealthy mailboxes.
	ProblemCount int `json:"problem_count"`
	// ProblemsByCode counts the unhealthy mailboxes per error code (the
	// state where there is no error); only shown to authenticated callers.
	ProblemsByCode map[string]int `json:"problems_by_code,omitempty"`
}

// MaxReadinessExamples bounds the mailboxes /readyz lists: with thousands
// failing for one reason, the counts per code say it, a few examples show it.
const MaxReadinessExamples = 20

// ExchangeDTO is the exchange block of the sync overview and /readyz.
type ExchangeDTO struct {
	State       string     `json:"state"`
	Since       *time.Time `json:"since,omitempty"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// toExchangeDTO converts an ExchangeHealth.
func toExchangeDTO(h ExchangeHealth) *ExchangeDTO {
	return &ExchangeDTO{State: h.State, Since: optTime(h.Since), NextAttempt: optTime(h.NextAttempt), LastError: h.LastError}
}

// MailboxProblemDTO is one unhealthy mailbox in /readyz.
type MailboxProblemDTO struct {
	User  string        `json:"user"`
	State string        `json:"state"`
	Error *SyncErrorDTO `json:"error,omitempty"`
}

// PresenceChangedEvent is the payload of presence.changed events (SSE and
// webhooks).
type PresenceChangedEvent struct {
	User     string       `json:"user"`
	At       time.Time    `json:"at"`
	Previous *PresenceDTO `json:"previous,omitempty"`
	Current  PresenceDTO  `json:"current"`
}

// DeadLetterDTO is one dead-lettered webhook delivery.
type DeadLetterDTO struct {
	// ID is the delivery (idempotency) id, sent as X-Calsync-Delivery and
	// kept when the delivery is retried.
	ID string `json:"id"`
	// Seq orders the outbox; the after parameter of the list pages by it.
	Seq       uint64 `json:"seq"`
	Endpoint  string `json:"endpoint"`
	User      string `json:"user"` // the ordering key: the user's (mailbox's) SMTP address
	EventType string `json:"event_type"`
	// Attempts counts the failed attempts since creation or the last retry.
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	DeadLetteredAt *time.Time `json:"dead_lettered_at,omitempty"`
	// Requeues counts earlier retries of this delivery from the dead letters.
	Requeues   int        `json:"requeues,omitempty"`
	RequeuedAt *time.Time `json:"requeued_at,omitempty"`
}

// DeadLetterListDTO is one page of dead letters, oldest first.
type DeadLetterListDTO struct {
	DeadLetters []DeadLetterDTO `json:"dead_letters"`
	Limit       int             `json:"limit"`
	// NextAfter is the after parameter of the next page; absent on the
	// last page.
	NextAfter uint64 `json:"next_after,omitempty"`
}

// DeadLetterRetryDTO answers a retry: how many dead letters of the
// endpoint went back to the outbox, and the delivery id of a single retry.
type DeadLetterRetryDTO struct {
	Endpoint string `json:"endpoint"`
	Requeued int    `json:"requeued"`
	ID       string `json:"id,omitempty"`
}

// ToDeadLetterDTO converts a dead outbox message.
func ToDeadLetterDTO(m store.OutboxMessage) DeadLetterDTO {
	return DeadLetterDTO{
		ID: m.ID, Seq: m.Seq, Endpoint: m.Endpoint, User: m.Key, EventType: m.EventType,
		Attempts: m.Attempts, LastError: m.LastError,
		CreatedAt: optTime(m.CreatedAt), DeadLetteredAt: optTime(m.DeadAt),
		Requeues: m.Requeues, RequeuedAt: optTime(m.RequeuedAt),
	}
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// ToPresenceDTO converts a domain presence.
func ToPresenceDTO(p presence.Presence) PresenceDTO {
	d := PresenceDTO{
		User:         p.User,
		Availability: string(p.Availability),
		Profile:      p.Profile,
		StatusText:   p.StatusText,
		ForwardTo:    p.ForwardTo,
		Since:        optTime(p.Since),
		Until:        optTime(p.Until),
		Why: ReasonDTO{
			Source:  p.Why.Source,
			Rule:    p.Why.Rule,
			ItemID:  p.Why.ItemID,
			Subject: p.Why.Subject,
			Start:   optTime(p.Why.Start),
			End:     optTime(p.Why.End),
			Detail:  p.Why.Detail,
		},
		ComputedAt: optTime(p.ComputedAt),
		TimeZone:   p.TimeZone,
	}
	if p.Next != nil {
		d.Next = &TransitionDTO{At: p.Next.At.UTC(), Availability: string(p.Next.Availability), StatusText: p.Next.StatusText}
	}
	return d
}

// ToPresenceChangedEvent converts a scheduler change.
func ToPresenceChangedEvent(c presence.Change) PresenceChangedEvent {
	e := PresenceChangedEvent{User: c.User, At: c.At.UTC(), Current: ToPresenceDTO(c.Current)}
	if c.Previous != nil {
		prev := ToPresenceDTO(*c.Previous)
		e.Previous = &prev
	}
	return e
}

// unhealthyStates are engine states that mean the mailbox is not in sync.
var unhealthyStates = map[string]bool{"backoff": true, "denied": true, "stopped": true, "waiting": true}

// SyncHealthy reports whether a mailbox status counts as healthy: no
// consecutive failures and not in a failure state.
func SyncHealthy(st store.MailboxStatus) bool {
	return st.ConsecutiveFailures == 0 && !unhealthyStates[st.State]
}

func toSyncErrorDTO(e *store.SyncError) *SyncErrorDTO {
	if e == nil {
		return nil
	}
	return &SyncErrorDTO{Code: e.Code, Message: e.Message, Hint: e.Hint, At: optTime(e.At)}
}

// HostedOn is where a hybrid instance serves a mailbox, read from its
// group: engine/hybridexchange names the side first in the grouping
// ("exchange:…" for Exchange Server over EWS, "exchange_online:…" for
// Exchange Online over Graph). "" when the instance is not hybrid or the
// mailbox is not placed yet.
func HostedOn(group string) string {
	for _, side := range []string{"exchange_online", "exchange"} {
		if strings.HasPrefix(group, side+":") {
			return side
		}
	}
	return ""
}

// ToSyncStatusDTO converts a stored mailbox status.
func ToSyncStatusDTO(st store.MailboxStatus) SyncStatusDTO {
	return SyncStatusDTO{
		User:                st.SMTP,
		State:               st.State,
		Healthy:             SyncHealthy(st),
		Group:               st.Group,
		HostedOn:            HostedOn(st.Group),
		Connection:          st.Connection,
		EWSURL:              st.EWSURL,
		TimeZone:            st.TimeZone,
		LastEvent:           optTime(st.LastEvent),
		LastVerified:        optTime(st.LastVerified),
		LastError:           toSyncErrorDTO(st.LastError),
		Occurrences:         st.Occurrences,
		ConsecutiveFailures: st.ConsecutiveFailures,
	}
}

func toSyncSummary(st store.MailboxStatus) *SyncSummaryDTO {
	s := &SyncSummaryDTO{State: st.State, Healthy: SyncHealthy(st), Group: st.Group, HostedOn: HostedOn(st.Group)}
	if st.LastError != nil && !s.Healthy {
		s.ErrorCode = st.LastError.Code
	}
	return s
}

// deriveGroups summarises statuses per affinity group, sorted by key, and
// adds the engine's streaming connections of each group. now dates the
// throughput window.
func deriveGroups(statuses []store.MailboxStatus, streams []StreamGroup, now time.Time) []ConnectionGroup {
	byKey := map[string]*ConnectionGroup{}
	conns := map[string]map[string]bool{}
	var keys []string
	get := func(key string) *ConnectionGroup {
		g := byKey[key]
		if g == nil {
			g = &ConnectionGroup{Key: key, States: map[string]int{}, Connections: []string{}}
			byKey[key] = g
			conns[key] = map[string]bool{}
			keys = append(keys, key)
		}
		return g
	}
	addConn := func(g *ConnectionGroup, name string) {
		if name != "" && !conns[g.Key][name] {
			conns[g.Key][name] = true
			g.Connections = append(g.Connections, name)
		}
	}
	for _, st := range statuses {
		g := get(st.Group)
		g.Mailboxes++
		if SyncHealthy(st) {
			g.Healthy++
		} else {
			g.Unhealthy++
		}
		g.States[st.State]++
		addConn(g, st.Connection)
		if !st.LastEvent.IsZero() {
			if g.LastEvent == nil || st.LastEvent.After(*g.LastEvent) {
				g.LastEvent = optTime(st.LastEvent)
			}
			// LastEvent is the newest notification, LastVerified the last
			// completed read: a notification after the read still waits.
			if st.LastEvent.After(st.LastVerified) {
				g.Pending++
				g.LagSeconds = max(g.LagSeconds, now.Sub(st.LastEvent).Seconds())
			} else if now.Sub(st.LastEvent) < 5*time.Minute {
				g.ChangedLast5m++
			}
		}
	}
	for _, sg := range streams {
		g := get(sg.Key)
		g.Anchor, g.Subscriptions = sg.Anchor, sg.Subscriptions
		for _, c := range sg.Connections {
			addConn(g, c.Name)
			g.Streams = append(g.Streams, StreamConnectionDTO{Name: c.Name, State: c.State, Subscriptions: c.Subscriptions,
				Since: optTime(c.Since), LastMessage: optTime(c.LastMessage), Reconnects: c.Reconnects, LastError: c.LastError})
		}
	}
	slices.Sort(keys)
	out := make([]ConnectionGroup, 0, len(keys))
	for _, k := range keys {
		g := byKey[k]
		slices.Sort(g.Connections)
		out = append(out, *g)
	}
	return out
}

// maskedSubject replaces the subject of a masked item.
const maskedSubject = "Private appointment"

// ToAgendaItemDTO converts an occurrence; reveal=false masks subject,
// location, organizer and categories of private and confidential items.
func ToAgendaItemDTO(o calendar.Occurrence, reveal bool) AgendaItemDTO {
	d := AgendaItemDTO{
		ItemID:      o.ItemID,
		Kind:        string(o.Kind),
		Subject:     o.Subject,
		Location:    o.Location,
		Organizer:   o.Organizer,
		Categories:  o.Categories,
		Start:       o.Start.UTC(),
		End:         o.End.UTC(),
		AllDay:      o.AllDay,
		TimeZone:    o.TimeZone,
		FreeBusy:    string(o.FreeBusy),
		Sensitivity: string(o.Sensitivity),
		Response:    string(o.Response),
		IsMeeting:   o.IsMeeting,
		Cancelled:   o.Cancelled,
	}
	if o.Sensitivity.IsMasked() && !reveal {
		d.Private = true
		d.Subject = maskedSubject
		d.Location, d.Organizer, d.Categories = "", "", nil
	}
	return d
}
