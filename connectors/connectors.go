// Package connectors pushes calsync's presence into other systems (a SIP
// presence server today; XMPP or a vendor API later). A connector is one
// more consumer of presence changes on the event log (events.Sink): the
// Runner keeps the presence each user should show, and sends it through a
// protocol-specific Target with bounded concurrency, never two updates of
// one user at once and always the latest, retrying with back-off, holding
// everything back while the target is unavailable (one probe at a time)
// and resending everyone's presence once it is back.
//
// What a connector has sent is its own durable progress, kept by the
// Target in the store (the SIP connector's entity tags); what it should
// show comes from the scheduler's stored presence at start
// (Options.Initial) and from presence.changed events afterwards, so a
// crash loses nothing: the restart compares the two and sends the
// difference.
package connectors

import (
	"context"
	"errors"
	"time"
)

// State is the presence a connector shows for a user: the fields of
// calsync's presence that UC systems can carry. Its JSON names are those of
// the presence the API, the events and the store use.
type State struct {
	// Availability is presence.Availability (available, busy, tentative,
	// out_of_office, working_elsewhere, unknown).
	Availability string `json:"availability"`
	// Profile is the rule's presence profile name (for example dnd).
	Profile string `json:"profile,omitempty"`
	// StatusText is the rendered status text ("In a meeting until 15:00").
	StatusText string `json:"status_text,omitempty"`
}

// Update asks a Target to show a user's presence.
type Update struct {
	User string // the user's SMTP address
	// State is what to show; nil withdraws the user's presence (the user
	// left the users source).
	State *State
	// Resend asks to send even if the target believes the server already
	// shows this state: after an outage the server may have lost it.
	Resend bool
}

// Target is one protocol's way of showing presence. The Runner calls
// Publish for one user at a time (concurrently across users).
type Target interface {
	// Publish makes the server show u. refreshAt is when to call again with
	// the same update to keep it alive (zero: never). A call before that
	// with an unchanged State and no Resend should send nothing. An error
	// wrapped with Unavailable concerns every user (server unreachable,
	// credentials rejected); others concern this user.
	Publish(ctx context.Context, u Update) (refreshAt time.Time, err error)
}

// Holder is implemented by targets that remember whom they publish for
// across restarts; the Runner withdraws those no longer in the initial set.
type Holder interface {
	Held() []string
}

// errUnavailable marks target-wide failures.
var errUnavailable = errors.New("target unavailable")

type unavailable struct{ err error }

func (u unavailable) Error() string        { return u.err.Error() }
func (u unavailable) Unwrap() error        { return u.err }
func (u unavailable) Is(target error) bool { return target == errUnavailable }

// Unavailable marks err as concerning the whole target: the Runner stops
// sending and probes with one update after a back-off.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return unavailable{err}
}

// IsUnavailable reports whether err was marked with Unavailable.
func IsUnavailable(err error) bool { return errors.Is(err, errUnavailable) }
