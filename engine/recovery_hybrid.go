package engine

import "time"

// actMoving: Exchange is moving the mailbox (between servers, or between
// Exchange Server and Exchange Online). The move's last phase takes
// minutes; the mailbox's last good data stays trusted meanwhile (its
// failures do not pile up into "no data"), and calsync looks again where
// it lives, at a short, bounded interval. A move that does not end within
// maxMoveTrust counts as failing like any other error.
const actMoving = actStop + 1

// maxMoveTrust bounds how long a move keeps the last good data trusted.
const maxMoveTrust = time.Hour

// movingPoll bounds the interval between looks at a moving mailbox.
const movingPoll = 30 * time.Second

// Codes of a hybrid organisation (engine/hybridexchange): a mailbox
// neither side serves (MailboxMoved, one that changed sides, is in
// recovery_graph.go).
var hybridRecoveries = map[string]recovery{
	"ErrorMailboxMoveInProgress": {actMoving, "Exchange is moving the mailbox; calsync keeps its last calendar data, looks again where it lives and reads it there when the move is done."},
	"HybridMailboxNotFound":      {actDenied, "Neither Exchange Server (EWS) nor Exchange Online (Graph) serves this mailbox: check the user's address, that the mailbox exists, and for a cloud mailbox the app's RBAC scope; calsync looks again every 15 minutes."},
}

func init() {
	for code, r := range hybridRecoveries {
		recoveries[code] = r
	}
}

// movingDelay is the wait before looking again at a moving mailbox: the
// usual back-off, capped at movingPoll.
func (env *workerEnv) movingDelay(tries int) time.Duration {
	return env.random.jitter(expBackoff(env.opts.RetryBase, min(env.opts.RetryMax, movingPoll), tries), 0.5)
}

// moving handles one "move in progress" answer: while the move is younger
// than maxMoveTrust, the failure does not count towards the consecutive
// failures that make the data untrusted (it stays at 1), and the reaction
// is actMoving; afterwards the move is treated as a stale routing.
func (w *worker) moving() action {
	now := w.env.clk.Now()
	if w.movingSince.IsZero() {
		w.movingSince = now
	}
	w.moveTries++
	if now.Sub(w.movingSince) >= maxMoveTrust {
		return actRediscover
	}
	w.failures = 1
	return actMoving
}
