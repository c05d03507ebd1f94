package app

import (
	"context"
	"time"

	"github.com/calsync/calsync/engine"
)

// initialSyncLogEvery spaces the progress lines of the initial sync.
const initialSyncLogEvery = 10 * time.Second

// reportInitialSync logs the progress of the initial sync (every
// initialSyncLogEvery while it lasts) and one summary when every mailbox
// has settled: live, denied, or in back-off after a failure. It looks at
// the engine's state counts when the engine reports a status change, not
// on a timer.
func (a *App) reportInitialSync(ctx context.Context) error {
	start := a.clock.Now()
	progress := a.clock.NewTimer(initialSyncLogEvery)
	defer progress.Stop()
	for {
		live, failing, total := a.settledCounts()
		// In a cluster the total is this instance's share, none until the
		// coordinator's first round hands it over.
		if live+failing >= total && (a.cluster == nil || total > 0) {
			a.log.Info("initial sync done", "mailboxes", total, "live", live, "failing", failing,
				"took", a.clock.Now().Sub(start).Round(time.Millisecond).String())
			if failing > 0 {
				a.log.Warn("some mailboxes do not sync; GET /readyz or the dashboard's sync health lists them with the EWS code and a fix",
					"failing", failing)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.statusChanged:
		case <-progress.C():
			live, failing, total := a.settledCounts()
			a.log.Info("initial sync", "live", live, "of", total, "failing", failing,
				"percent", 100*live/max(total, 1))
			progress.Reset(initialSyncLogEvery)
		}
	}
}

// settledCounts returns how many mailboxes are live, how many failing
// (engine.Failing: back-off, denied, waiting behind the credential gate, or
// retrying a failed step under the step's state; counting back-off and
// denied alone said failing=0 while every mailbox failed), of how many
// users to sync. The total is the
// users set (in a cluster: this instance's share), not the engine's: the engine knows a mailbox only once its
// worker started.
func (a *App) settledCounts() (live, failing, total int) {
	counts := a.engine.StateCounts()
	return counts[engine.StateLive], a.engine.Failing(), a.plannedUsers().len()
}
