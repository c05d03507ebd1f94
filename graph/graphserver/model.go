package graphserver

import (
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/clock"
)

// Mailboxes is what the Graph face reads from the mailbox model. The EWS
// simulator's model (ewsmem.Exchange, and ewssim.Simulator around it)
// implements it, so both protocol faces serve the same calendars: a change
// made over EWS, by churn or through the control API is what Graph returns.
type Mailboxes interface {
	// Clock is the model's clock (the simulator's, which --clock may move).
	Clock() clock.Clock
	// Mailboxes lists every mailbox address.
	Mailboxes() []string
	// Occurrences returns the expanded calendar in [from, to): single
	// items, occurrences and exceptions, no series masters.
	Occurrences(smtp string, from, to time.Time) ([]ews.CalendarItem, error)
	// CalendarItems returns the stored single items and series masters.
	CalendarItems(smtp string) ([]ews.CalendarItem, error)
	// OOF returns the automatic-reply settings.
	OOF(smtp string) (ews.OofSettings, error)
	// TimeZone returns the mailbox's Windows time-zone id.
	TimeZone(smtp string) (string, *time.Location, error)
}

// Hosting is optionally implemented by a model that places mailboxes on
// premises or in the cloud: Graph serves only cloud mailboxes. Without
// it every mailbox is a cloud mailbox.
type Hosting interface {
	// InCloud reports whether the mailbox lives in Exchange Online (and is
	// not being moved).
	InCloud(smtp string) bool
}

// ChangeCounter is optionally implemented by a model that counts the
// changes of each mailbox; subscriptions then look only at mailboxes whose
// count moved instead of comparing every subscribed calendar each tick.
type ChangeCounter interface {
	ChangeSeq(smtp string) (uint64, error)
}

// SeriesMasters is optionally implemented by a model whose occurrence ids
// name their series master (Graph's seriesMasterId).
type SeriesMasters interface {
	SeriesMasterID(occurrenceID string) (string, bool)
}
