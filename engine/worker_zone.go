package engine

// The mailbox's own time zone: read from Exchange at every reconciliation
// (users change their regional settings), it decides the window's local
// midnights and, through the stored status, the zone presence renders
// "until 15:00" in.
//
// A first load does not read it (OWA.UserOptions has no batch form: it
// would be one GetUserConfiguration per mailbox, a third of the load's
// requests). Until the first reconciliation, which a first load schedules
// uniformly over ReconcileInterval (so the zone reads are spread over it,
// and no mailbox waits longer than one interval, hourly by default), the
// window spans every zone's window (windowAt): it holds every occurrence
// the mailbox's own window would, and presence renders texts in its
// configured zone. With
// reconciliation disabled the load reads the zone as before.

import (
	"context"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// ZoneReader is implemented by an Exchange that can read a mailbox's own
// time zone (engine/ewsexchange: OWA.UserOptions, else the working hours).
// An Exchange without it leaves every mailbox in WindowConfig's default.
type ZoneReader interface {
	// MailboxTimeZone returns the mailbox's IANA zone, "" when the mailbox
	// has none configured.
	MailboxTimeZone(ctx context.Context, t Target) (string, error)
}

// learnZone reads the mailbox's zone. Failing to read it never stops the
// sync: the zone known so far is kept and read again at the next
// reconciliation.
func (w *worker) learnZone() error {
	w.need &^= needZone
	zr, ok := w.env.ex.(ZoneReader)
	if !ok {
		return nil
	}
	var name string
	err := w.env.call(w.ctx, w.smtp, w.disc.EWSURL, func(ctx context.Context) error {
		var err error
		name, err = zr.MailboxTimeZone(ctx, w.target())
		return err
	})
	if err != nil {
		if w.ctx.Err() != nil {
			return w.ctx.Err()
		}
		w.env.log.Info("reading the mailbox's time zone failed; keeping the one known", "smtp", w.smtp,
			"zone", w.zoneName, "code", ErrorCode(err), "err", Describe(err))
		return nil
	}
	w.setZone(name)
	return nil
}

// setZone applies a learnt zone ("" = unknown: WindowConfig's default
// for the window, and no zone in the status, so that presence uses its
// configured one). A change re-arms the roll, re-reads a window that no
// longer matches and tells the sink so that texts are rendered again.
func (w *worker) setZone(name string) {
	name, loc := knownZone(name, w.env.opts.Window.DefaultTimeZone)
	wasUnread := w.zoneUnread
	w.zoneUnread = false
	if name == w.zoneName && w.loc != nil && !wasUnread {
		return
	}
	w.zoneName, w.loc = name, loc
	if w.loaded {
		now := w.env.clk.Now()
		w.nextRoll = w.rollAfter(now)
		if w.windowAt(now) != w.window {
			w.need |= needRead
			if w.readReason == "" {
				w.readReason = "time zone"
			}
		}
	}
	st, ok := w.env.status.update(w.smtp, func(st *store.MailboxStatus) { st.TimeZone = name })
	if ok && w.loaded {
		w.saveStatus(st)
		w.env.sink.CalendarChanged(w.smtp)
	}
}

// defersZone reports whether a first load may leave the zone to the first
// reconciliation: only when there is a zone to read and a reconciliation
// to read it.
func (w *worker) defersZone() bool {
	_, ok := w.env.ex.(ZoneReader)
	return ok && w.env.opts.ReconcileInterval > 0
}

// windowAt is the mailbox's window at now: in its zone, or while the zone
// is unread one that spans every zone's window at now: zones run from
// UTC−12 to UTC+14, so no zone's local midnights fall more than 14 h
// before the UTC window's start or 12 h after its end.
func (w *worker) windowAt(now time.Time) calendar.Window {
	c := w.env.opts.Window
	if !w.zoneUnread {
		return c.windowAt(now, w.loc)
	}
	u := c.windowAt(now, time.UTC)
	return calendar.Window{Start: u.Start.Add(-14 * time.Hour), End: u.End.Add(12 * time.Hour)}
}

// knownZone resolves an IANA zone name; an empty or unloadable one is
// unknown: "" and def.
func knownZone(name string, def *time.Location) (string, *time.Location) {
	if name == "" {
		return "", def
	}
	loc, err := loadLocation(name)
	if err != nil {
		return "", def
	}
	return name, loc
}
