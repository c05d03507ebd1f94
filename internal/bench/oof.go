package bench

// The automatic-replies phase (issue 11): automatic replies raise no
// notification, so the engine polls their mail tips (GetMailTips, many
// mailboxes per request, once per OOF poll interval) and reads the settings
// (GetUserOofSettings) only of mailboxes whose tip changed. The phase turns
// automatic replies on for some mailboxes in the simulator, spread over one
// interval so that the changes fall at every point of the polling round, and
// measures the time until the user's presence, evaluated from the store as
// calsync serves it, is out of office — and what that cost in requests.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/ewsserver/ewssim"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
)

// OOFResult is what the automatic-replies phase measured.
type OOFResult struct {
	Changes  int           // automatic replies turned on in the simulator
	Detected int           // of them seen as out of office in presence
	Interval time.Duration // the engine's OOF poll interval
	Limit    int           // MaxRecipientsPerGetMailTipsRequest the server reports
	Duration time.Duration // the phase: first change → last detection (or give-up)
	// MailTips and OOFSettings count GetMailTips and GetUserOofSettings
	// requests the simulator answered during the phase.
	MailTips, OOFSettings int64
	P50, Max              time.Duration // change in the simulator → presence out of office
}

// MailTipsPerSecond is the measured GetMailTips rate.
func (r OOFResult) MailTipsPerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.MailTips) / r.Duration.Seconds()
}

// oofPhase is what the phase needs of the run.
type oofPhase struct {
	st        store.Store
	client    *ewsclient.Client
	control   ewsclient.HTTPClient // the simulator's control API
	base      string
	mailboxes []string
	changes   int
	interval  time.Duration
}

// run turns automatic replies on for ph.changes mailboxes that are not out
// of office now, one every interval/changes, and waits for each to show in
// presence (at most two intervals after the last change).
func (ph oofPhase) run(ctx context.Context) (OOFResult, error) {
	res := OOFResult{Interval: ph.interval}
	if ph.changes <= 0 {
		return res, nil
	}
	if cfg, err := ph.client.GetMailTipsConfiguration(ctx, ewsclient.Call{}); err == nil {
		res.Limit = cfg.MaxRecipientsPerRequest
	}
	rules, err := presence.CompileRules(presence.DefaultRules())
	if err != nil {
		return res, err
	}
	src := &presence.StoreSource{Store: ph.st}
	outOfOffice := func(smtp string) bool {
		now := time.Now()
		in, err := src.Load(ctx, smtp, now.Add(-48*time.Hour), now.Add(48*time.Hour))
		return err == nil && presence.Evaluate(in, rules, now).Availability == presence.OutOfOffice
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var picked []string
	for _, i := range rng.Perm(len(ph.mailboxes)) {
		if len(picked) == ph.changes {
			break
		}
		if m := ph.mailboxes[i]; !outOfOffice(m) {
			picked = append(picked, m)
		}
	}
	res.Changes = len(picked)
	before, err := simStats(ctx, ph.control, ph.base)
	if err != nil {
		return res, err
	}
	start := time.Now()
	gap := ph.interval / time.Duration(max(len(picked), 1))
	changedAt := map[string]time.Time{}
	var delays []time.Duration
	// check notes the pending mailboxes whose presence, as calsync
	// evaluates it from the store, is out of office now.
	check := func() {
		for m, at := range changedAt {
			if outOfOffice(m) {
				delays = append(delays, time.Since(at))
				delete(changedAt, m)
			}
		}
	}
	for i, m := range picked {
		for next := start.Add(time.Duration(i) * gap); time.Now().Before(next); check() {
			if err := sleep(ctx, min(time.Until(next), 50*time.Millisecond)); err != nil {
				return res, err
			}
		}
		on := ewssim.OOFJSON{State: "Enabled", ExternalAudience: "All", InternalReply: fmt.Sprintf("Away (bench %d)", i), ExternalReply: "Away"}
		changedAt[m] = time.Now()
		if err := control(ctx, ph.control, http.MethodPut, ph.base+"/sim/v1/mailboxes/"+m+"/oof", on, nil); err != nil {
			return res, err
		}
	}
	for deadline := time.Now().Add(2 * ph.interval); len(changedAt) > 0 && time.Now().Before(deadline); check() {
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return res, err
		}
	}
	res.Duration = time.Since(start)
	after, err := simStats(ctx, ph.control, ph.base)
	if err != nil {
		return res, err
	}
	res.MailTips = after.Requests["GetMailTips"] - before.Requests["GetMailTips"]
	res.OOFSettings = after.Requests["GetUserOofSettingsRequest"] - before.Requests["GetUserOofSettingsRequest"] // the request element's name
	res.Detected = len(delays)
	slices.Sort(delays)
	if len(delays) > 0 {
		res.P50 = delays[len(delays)/2]
		res.Max = delays[len(delays)-1]
	}
	return res, nil
}

// oofRows adds the phase's rows to the table.
func oofRows(row func(string, func(Result) string)) {
	row("OOF: GetMailTips per second (interval / recipients per request)", func(r Result) string {
		o := r.OOF
		if o.Changes == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f (%s / %d; %d in %s)", o.MailTipsPerSecond(), o.Interval, o.Limit, o.MailTips, o.Duration.Round(time.Second))
	})
	row("OOF: GetUserOofSettings per changed mailbox", func(r Result) string {
		o := r.OOF
		if o.Changes == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f (%d for %d changes)", float64(o.OOFSettings)/float64(o.Changes), o.OOFSettings, o.Changes)
	})
	row("OOF: change in Exchange → presence out of office p50 / max", func(r Result) string {
		o := r.OOF
		if o.Changes == 0 {
			return "—"
		}
		return fmt.Sprintf("%s / %s (%d of %d seen)", o.P50.Round(100*time.Millisecond), o.Max.Round(100*time.Millisecond), o.Detected, o.Changes)
	})
}
