package engine

// The mailbox's own time zone: read from Exchange before the first window
// read (in batches of working hours, zonebatch.go) and again at every
// reconciliation (OWA.UserOptions: users change their regional settings),
// it decides the window's local midnights and, through the stored status,
// the zone presence renders "until 15:00" in.

import (
	"context"
	"time"

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

// askZone puts a first load into the next batch of zone reads
// (zonebatch.go); learnZone waits for its answer.
func (w *worker) askZone() {
	w.zoneAsk = nil
	if w.need&needZone != 0 && w.env.zones != nil {
		w.zoneAsk = w.env.zones.ask(w.smtp)
	}
}

// learnZone learns the mailbox's zone. A first load takes it from its zone
// batch (the working hours), waiting for it: the first status must be in
// the user's zone, not in the default one. Everything else (the batch had
// no answer for the mailbox, reconciliation, no batching) reads it alone:
// OWA.UserOptions, the user's chosen zone, else the working hours. Failing
// to read it never stops the sync: the zone known so far is kept and read
// again at the next reconciliation.
func (w *worker) learnZone() error {
	if ask := w.zoneAsk; ask != nil {
		select {
		case a := <-ask:
			w.zoneAsk = nil
			if a.ok {
				w.need &^= needZone
				w.setZone(a.zone)
				return nil
			}
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
	}
	w.need &^= needZone
	zr, ok := w.env.ex.(ZoneReader)
	if !ok {
		return nil
	}
	var name string
	// Through the credential gate like every request of the worker: while
	// Exchange rejects the service account the mailbox says it is waiting
	// (the initial-sync summary counts it), rather than hiding the wait
	// under the state of its last step.
	err := w.call(w.ctx, func(ctx context.Context) error {
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
	if name == w.zoneName && w.loc != nil {
		return
	}
	w.zoneName, w.loc = name, loc
	if w.loaded {
		now := w.env.clk.Now()
		w.nextRoll = w.rollAfter(now)
		if w.env.opts.Window.windowAt(now, w.loc) != w.window {
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
