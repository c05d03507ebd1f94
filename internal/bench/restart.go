package bench

// The restart measurement (`calsync bench -restart`): after the load, the
// engine runs until a reconciliation stored every mailbox's sync state,
// stops; a few mailboxes change on the simulator while calsync is down;
// a new engine starts over the same store and the same simulator (whose
// streaming subscriptions outlive the connection, as Exchange's do for 30
// minutes). It counts the requests until every mailbox is live, every
// subscription streamed and every changed mailbox holds its change.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/store"
)

// RestartResult is what a restart over the store measured.
type RestartResult struct {
	// StatesAfter is the time from the end of the load until every
	// mailbox's checkpoint held a sync state (the first reconciliation).
	StatesAfter time.Duration
	Changed     int           // mailboxes changed while calsync was down
	Live        time.Duration // restart → every mailbox live
	Streamed    time.Duration // restart → every subscription on an open connection
	Correct     time.Duration // restart → every changed mailbox holds its change
	// RequestsPerMailbox counts the EWS requests from the restart until
	// all three held.
	RequestsPerMailbox float64
	Requests           map[string]int64
	CPUPer1000         time.Duration
	// SyncChecks are the engine's sync-state checks by result.
	SyncChecks map[string]int
	mailboxes  int
	// Patched counts windows brought up to date from a check's answer
	// (no CalendarView); ReplaysCovered the notification reads skipped
	// because the stored window already showed the change.
	Patched, ReplaysCovered int
}

// tipRound is the mail-tip poller's operation: its round verifies the
// automatic replies of every mailbox once per poll interval whether or not
// calsync restarted, so the restart's figure is also given without it.
const tipRound = "GetMailTips"

// RequestsPerMailboxWithoutTips is RequestsPerMailbox without the
// mail-tip poller's requests.
func (r *RestartResult) RequestsPerMailboxWithoutTips(mailboxes int) float64 {
	if mailboxes == 0 {
		return 0
	}
	return r.RequestsPerMailbox - float64(r.Requests[tipRound])/float64(mailboxes)
}

// restartReconcile is the reconciliation interval of the engine that
// takes the states: long enough that the first reconciliation (0.8–1 ×
// the interval after a mailbox's load) comes after the whole load.
func restartReconcile(mailboxes int) time.Duration {
	return 30*time.Second + time.Duration(mailboxes)*10*time.Millisecond
}

type restartRun struct {
	cfg       Config
	first     *runningEngine
	opts      engine.Options
	st        store.Store
	hc        ewsclient.HTTPClient
	simURL    string
	mailboxes []string
}

func measureRestart(ctx context.Context, r restartRun) (RestartResult, error) {
	var res RestartResult
	n := len(r.mailboxes)
	t0 := time.Now()
	deadline := t0.Add(3*r.opts.ReconcileInterval + 2*time.Minute)
	for missing := n; missing > 0; {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("restart: %d of %d mailboxes still without a sync state after %s", missing, n, time.Since(t0).Round(time.Second))
		}
		if err := sleep(ctx, time.Second); err != nil {
			return res, err
		}
		missing = 0
		for _, m := range r.mailboxes {
			rec, err := r.st.Mailbox(ctx, m)
			if err != nil || rec.Checkpoint.SyncState == "" {
				missing++
			}
		}
	}
	res.StatesAfter = time.Since(t0)
	r.first.stop()

	k := r.cfg.RestartChanges
	if k <= 0 {
		k = max(1, n/100)
	}
	k = min(k, n)
	changed := map[string]string{}
	for i := range k {
		m := r.mailboxes[i*n/k]
		subject := fmt.Sprintf("bench restart change %d", i)
		if err := createItem(ctx, r.hc, r.simURL, m, subject, i); err != nil {
			return res, err
		}
		changed[m] = subject
	}
	res.Changed = len(changed)

	stats0, err := simStats(ctx, r.hc, r.simURL)
	if err != nil {
		return res, err
	}
	opts := r.opts
	opts.ReconcileInterval = 0 // the default
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	cpu0, start := cpuTime(), time.Now()
	e, err := startEngine(ctx, opts, r.mailboxes)
	if err != nil {
		return res, err
	}
	defer e.stop()
	deadline = start.Add(time.Duration(n)*20*time.Millisecond + 2*time.Minute)
	for res.Live == 0 || res.Streamed == 0 || res.Correct == 0 {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("restart: not settled after %s: states %v, %d changed mailboxes not yet right", time.Since(start).Round(time.Second), e.e.StateCounts(), len(changed))
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return res, err
		}
		if res.Live == 0 && e.e.StateCounts()[engine.StateLive] == n {
			res.Live = time.Since(start)
		}
		if res.Streamed == 0 && allStreamed(e.e.Groups(), n) {
			res.Streamed = time.Since(start)
		}
		if res.Correct == 0 {
			for _, m := range slices.Sorted(maps.Keys(changed)) {
				if holds(ctx, r.st, m, changed[m]) {
					delete(changed, m)
				}
			}
			if len(changed) == 0 {
				res.Correct = time.Since(start)
			}
		}
	}
	cpu := cpuTime() - cpu0
	stats1, err := simStats(ctx, r.hc, r.simURL)
	if err != nil {
		return res, err
	}
	res.Requests = map[string]int64{}
	for op, v := range stats1.Requests {
		if d := v - stats0.Requests[op]; d > 0 {
			res.Requests[op] = d
		}
	}
	res.RequestsPerMailbox = float64(stats1.RequestsTotal-stats0.RequestsTotal) / float64(n)
	res.CPUPer1000 = time.Duration(float64(cpu) / float64(n) * 1000)
	res.SyncChecks = syncChecks(reg)
	res.Patched = int(counter(reg, "calsync_engine_sync_state_patches_total"))
	res.ReplaysCovered = int(counter(reg, "calsync_engine_replayed_notifications_covered_total"))
	res.mailboxes = n
	return res, nil
}

// holds reports whether the stored window of smtp has an occurrence
// with subject.
func holds(ctx context.Context, st store.Store, smtp, subject string) bool {
	occs, err := st.Occurrences(ctx, smtp, time.Now().Add(-24*time.Hour), time.Now().Add(72*time.Hour))
	if err != nil {
		return false
	}
	return slices.ContainsFunc(occs, func(o calendar.Occurrence) bool { return o.Subject == subject })
}

// counters returns the engine's counters by name, each with its samples
// by label value ("" without labels).
func counters(reg *prometheus.Registry) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		byLabel := map[string]float64{}
		for _, m := range mf.GetMetric() {
			label := ""
			if ls := m.GetLabel(); len(ls) > 0 {
				label = ls[0].GetValue()
			}
			byLabel[label] = m.GetCounter().GetValue()
		}
		out[mf.GetName()] = byLabel
	}
	return out
}

// syncChecks reads calsync_engine_sync_state_checks_total by result.
func syncChecks(reg *prometheus.Registry) map[string]int {
	out := map[string]int{}
	for result, v := range counters(reg)["calsync_engine_sync_state_checks_total"] {
		out[result] = int(v)
	}
	return out
}

// counter reads an unlabelled counter (0 when absent).
func counter(reg *prometheus.Registry, name string) float64 {
	return counters(reg)[name][""]
}

// writeRestartRows adds the restart rows to the table.
func writeRestartRows(row func(string, func(Result) string)) {
	rr := func(f func(*RestartResult) string) func(Result) string {
		return func(r Result) string {
			if r.Restart == nil {
				return "—"
			}
			return f(r.Restart)
		}
	}
	row("restart: sync states stored (after the load)", rr(func(r *RestartResult) string { return r.StatesAfter.Round(time.Second).String() }))
	row("restart: mailboxes changed while down", rr(func(r *RestartResult) string { return fmt.Sprint(r.Changed) }))
	row("restart: time to all live / streamed / changes stored", rr(func(r *RestartResult) string {
		return fmt.Sprintf("%s / %s / %s", r.Live.Round(10*time.Millisecond), r.Streamed.Round(10*time.Millisecond), r.Correct.Round(10*time.Millisecond))
	}))
	row("restart: EWS requests per mailbox", rr(func(r *RestartResult) string { return fmt.Sprintf("%.3f", r.RequestsPerMailbox) }))
	row("restart: EWS requests per mailbox without the mail-tip poller's round (GetMailTips)", rr(func(r *RestartResult) string {
		return fmt.Sprintf("%.3f", r.RequestsPerMailboxWithoutTips(r.mailboxes))
	}))
	row("restart: requests by operation", rr(func(r *RestartResult) string { return fmtMap(r.Requests) }))
	row("restart: windows applied from the check's answer / replayed notifications not read", rr(func(r *RestartResult) string {
		return fmt.Sprintf("%d / %d", r.Patched, r.ReplaysCovered)
	}))
	row("restart: sync-state checks by result", rr(func(r *RestartResult) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.SyncChecks)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.SyncChecks[k]))
		}
		return strings.Join(parts, ", ")
	}))
	row("restart: CPU per 1,000 mailboxes", rr(func(r *RestartResult) string { return r.CPUPer1000.Round(time.Millisecond).String() }))
}
