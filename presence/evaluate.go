package presence

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/calsync/calsync/calendar"
)

// Input is everything presence needs to know about one user.
type Input struct {
	// User is the user's SMTP address.
	User string
	// Occurrences are the user's expanded occurrences; they should cover
	// Window completely (a recurring series arrives as its occurrences,
	// exceptions included and deleted occurrences absent).
	Occurrences []calendar.Occurrence
	// OOF is the automatic-replies configuration.
	OOF calendar.OOFSettings
	// Trusted is false when calsync has no trustworthy data for the user
	// (never synced, sync failing): presence is then unknown. Callers must
	// set it explicitly; presence never guesses.
	Trusted bool
	// Location is the mailbox's time zone, used for all-day items and to
	// render times; nil uses the rule set's time_zone.
	Location *time.Location
	// Language of status texts ("en", "de"); empty uses the rule set's.
	Language string
	// Window is the range Occurrences cover. Zero means unknown.
	Window calendar.Window
	// Pending is set (with Trusted false) while the user's first load is
	// still running and has not failed: the scheduler then publishes
	// nothing for the user until its first real state, so a fresh start
	// sends one change per user instead of an interim unknown followed by
	// the real presence.
	Pending bool
	// Override is the user's manual override, nil if none.
	Override *Override
}

// Override is a manual presence set through the API. It beats the calendar
// (and unknown data) from SetAt until Until, or, when Until is zero, until
// the next calendar transition after SetAt.
type Override struct {
	Availability Availability `json:"availability"`
	// Profile defaults to the availability's name.
	Profile string `json:"profile,omitempty"`
	// StatusText may use the {{until}} placeholder like rule texts.
	StatusText string `json:"status_text,omitempty"`
	ForwardTo  string `json:"forward_to,omitempty"`
	// Until ends the override; zero means "until the next calendar transition".
	Until time.Time `json:"until,omitempty"`
	// SetAt is when the override was set.
	SetAt time.Time `json:"set_at"`
}

// Validate checks an override before it is applied.
func (o Override) Validate() error {
	a, ok := parseAvailability(string(o.Availability))
	if !ok || a == Unknown {
		return fmt.Errorf("presence: override availability %q is not valid", o.Availability)
	}
	if o.SetAt.IsZero() {
		return fmt.Errorf("presence: override without SetAt")
	}
	if !o.Until.IsZero() && !o.Until.After(o.SetAt) {
		return fmt.Errorf("presence: override ends (%s) before it starts (%s)", o.Until.Format(time.RFC3339), o.SetAt.Format(time.RFC3339))
	}
	if _, err := compileTexts(o.StatusText, nil); err != nil {
		return fmt.Errorf("presence: override status_text: %w", err)
	}
	return nil
}

// Sentinels for open-ended blocks. farPast sorts before and farFuture
// after every real instant.
var (
	farPast   = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// priority orders overlapping availabilities; higher wins.
func priority(a Availability) int {
	switch a {
	case OutOfOffice:
		return 5
	case Busy:
		return 4
	case WorkingElsewhere:
		return 3
	case Tentative:
		return 2
	case Available:
		return 1
	}
	return 0
}

// interval is one occurrence (or the automatic-replies window) after rule
// evaluation, on the time axis.
type interval struct {
	start, end time.Time
	avail      Availability
	rule       *compiledRule // nil for automatic replies
	occ        *calendar.Occurrence
	unanswered bool
}

// wins reports whether a beats b for the same instant: higher priority,
// then automatic replies, then the earlier rule, then the earlier start,
// then the item id (for determinism).
func (a *interval) wins(b *interval) bool {
	if pa, pb := priority(a.avail), priority(b.avail); pa != pb {
		return pa > pb
	}
	if (a.rule == nil) != (b.rule == nil) {
		return a.rule == nil
	}
	if a.rule != nil && a.rule.index != b.rule.index {
		return a.rule.index < b.rule.index
	}
	if !a.start.Equal(b.start) {
		return a.start.Before(b.start)
	}
	return a.occ != nil && b.occ != nil && a.occ.ItemID < b.occ.ItemID
}

// part is a stretch of a block decided by one interval (nil: a bridged gap
// or free time).
type part struct {
	start, end time.Time
	iv         *interval
}

// block is a maximal stretch with one published presence. Its presence is
// rendered lazily (see plan.text): a plan spans days, but the scheduler
// only ever looks at the current and the next block.
type block struct {
	start, end time.Time
	// renderStart is the start the text is rendered against; it stays put
	// when an override clips the block.
	renderStart time.Time
	parts       []part
	// p is the rendered presence, nil until first needed.
	p *Presence
}

// plan is a user's evaluated timeline: consecutive blocks from farPast to
// farFuture.
type plan struct {
	user   string
	blocks []block
	loc    *time.Location
	lang   string
	rules  *CompiledRules
	// pending: untrusted because the first load is still running.
	pending bool
}

// Evaluate returns the presence of in.User at instant at.
func Evaluate(in Input, rules *CompiledRules, at time.Time) Presence {
	return buildPlan(in, rules).at(at)
}

// Timeline returns the presence segments overlapping [from, to), in order:
// the dry-run preview. Each segment's Since/Until are its bounds (Until is
// zero when open-ended) and Next is the following segment.
func Timeline(in Input, rules *CompiledRules, from, to time.Time) []Presence {
	pl := buildPlan(in, rules)
	var out []Presence
	for i := range pl.blocks {
		b := &pl.blocks[i]
		if !b.end.After(from) || !b.start.Before(to) {
			continue
		}
		p := pl.presence(i)
		p.ComputedAt = maxTime(from, b.start)
		out = append(out, p)
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// blockIndex returns the index of the block containing t.
func (pl *plan) blockIndex(t time.Time) int {
	i, _ := slices.BinarySearchFunc(pl.blocks, t, func(b block, t time.Time) int {
		if !b.end.After(t) {
			return -1
		}
		if b.start.After(t) {
			return 1
		}
		return 0
	})
	return min(i, len(pl.blocks)-1)
}

// at returns the presence at t, with Why naming the interval that decides t.
func (pl *plan) at(t time.Time) Presence {
	i := pl.blockIndex(t)
	b := &pl.blocks[i]
	p := pl.presence(i)
	p.ComputedAt = t
	if len(b.parts) > 1 {
		for _, pt := range b.parts {
			if !t.Before(pt.start) && t.Before(pt.end) && pt.iv != nil {
				p.Why = pl.reasonFor(pt.iv, p.Why)
				break
			}
		}
	}
	return p
}

// presence returns block i's presence with its bounds and next transition.
func (pl *plan) presence(i int) Presence {
	b := &pl.blocks[i]
	p := *pl.text(i)
	p.User = pl.user
	p.Since, p.Until = b.start, b.end
	if b.start.Equal(farPast) {
		// The block began before anything loaded: when is not known.
		p.Since = time.Time{}
	}
	p.TimeZone = pl.loc.String()
	if b.end.Equal(farFuture) {
		p.Until = time.Time{}
	}
	if i+1 < len(pl.blocks) {
		n := pl.text(i + 1)
		p.Next = &Transition{At: b.end, Availability: n.Availability, StatusText: n.StatusText}
	}
	return p
}

// text renders block i once and returns its availability, profile, text,
// forward target and reason.
func (pl *plan) text(i int) *Presence {
	b := &pl.blocks[i]
	if b.p == nil {
		pl.render(b, pl.rules)
	}
	return b.p
}

// nextBoundary returns the first block boundary after t, false if the block
// containing t is open-ended.
func (pl *plan) nextBoundary(t time.Time) (time.Time, bool) {
	b := pl.blocks[pl.blockIndex(t)]
	if !b.end.Before(farFuture) {
		return time.Time{}, false
	}
	return b.end, true
}

func buildPlan(in Input, rules *CompiledRules) *plan {
	return calendarPlan(in, rules).withOverride(in.Override)
}

// calendarPlan evaluates the calendar (or the lack of trustworthy data)
// without any override.
func calendarPlan(in Input, rules *CompiledRules) *plan {
	loc := in.Location
	if loc == nil {
		loc = rules.zone
	}
	lang := normalizeLanguage(in.Language)
	if !knownLanguage(lang) {
		lang = rules.language
	}
	pl := &plan{user: in.User, loc: loc, lang: lang, rules: rules, pending: in.Pending && !in.Trusted}
	if !in.Trusted {
		pl.blocks = []block{{start: farPast, end: farFuture, renderStart: farPast, parts: []part{{start: farPast, end: farFuture}}}}
		pl.blocks[0].p = &Presence{Availability: Unknown, Profile: rules.noData.profile, ForwardTo: rules.noData.forwardTo,
			StatusText: rules.noData.texts.render(lang, textData{Profile: rules.noData.profile, Availability: string(Unknown)}),
			Why:        Reason{Source: "no_data", Detail: "no trustworthy calendar data (not synced yet or sync failing)"}}
	} else {
		ivs := intervals(in, rules, loc)
		pl.blocks = mergeBlocks(segment(ivs), rules.mergeGap)
	}
	return pl
}

// withOverride returns the plan with the override applied; pl itself is
// not modified.
func (pl *plan) withOverride(o *Override) *plan {
	if o == nil {
		return pl
	}
	out := *pl
	out.blocks = pl.applyOverride(pl.blocks, *o)
	return &out
}

// overrideEnd returns when an override stops applying on this plan.
func (pl *plan) overrideEnd(o Override) time.Time {
	if !o.Until.IsZero() {
		return o.Until
	}
	for _, b := range pl.blocks {
		if b.start.After(o.SetAt) {
			return b.start
		}
	}
	return farFuture
}

// intervals classifies the occurrences with the rules.
func intervals(in Input, rules *CompiledRules, loc *time.Location) []*interval {
	ivs := make([]*interval, 0, len(in.Occurrences)+1)
	for i := range in.Occurrences {
		o := &in.Occurrences[i]
		avail, unanswered, rule := classify(rules, o)
		if rule == nil || rule.ignore {
			continue
		}
		if rule.availability != "" {
			avail = rule.availability
		}
		start, end := calendar.AllDaySpan(*o, loc)
		start, end = start.Add(-rule.lead), end.Add(rule.lag)
		if !end.After(start) {
			continue
		}
		ivs = append(ivs, &interval{start: start, end: end, avail: avail, rule: rule, occ: o, unanswered: unanswered})
	}
	if oof := in.OOF; oof.State == calendar.OOFEnabled {
		ivs = append(ivs, &interval{start: farPast, end: farFuture, avail: OutOfOffice})
	} else if oof.State == calendar.OOFScheduled && oof.End.After(oof.Start) {
		ivs = append(ivs, &interval{start: oof.Start, end: oof.End, avail: OutOfOffice})
	}
	return ivs
}

// classify gives an occurrence's availability (before the rule's own
// override), whether it is an unanswered meeting request, and the rule
// that decides it; a nil rule means the occurrence never counts
// (cancelled, declined, or an unanswered request the rules ignore).
func classify(rules *CompiledRules, o *calendar.Occurrence) (avail Availability, unanswered bool, rule *compiledRule) {
	if o.Cancelled || o.Response == calendar.ResponseDecline {
		return "", false, nil
	}
	avail, ok := availabilityOf(o.FreeBusy)
	if !ok {
		return "", false, nil
	}
	unanswered = o.IsMeeting && (o.Response == calendar.ResponseNoResponse || o.Response == calendar.ResponseUnknown || o.Response == "")
	if unanswered && avail != Available {
		switch rules.unanswered {
		case UnansweredIgnore:
			return "", false, nil
		case UnansweredTentative:
			avail = Tentative
		}
	}
	return avail, unanswered, matchRule(rules, o, avail)
}

// RevealsPrivate reports whether the rule that decides o explicitly allows
// the subject, location and organizer of a private or confidential
// occurrence to leave calsync (reveal_private). Occurrences no rule
// decides (cancelled, declined, ignored) are never revealed.
func (c *CompiledRules) RevealsPrivate(o calendar.Occurrence) bool {
	if c == nil {
		return false
	}
	_, _, rule := classify(c, &o)
	return rule != nil && rule.revealPrivate
}

func matchRule(rules *CompiledRules, o *calendar.Occurrence, avail Availability) *compiledRule {
	for i := range rules.rules {
		if rules.rules[i].matches(o, avail) {
			return &rules.rules[i]
		}
	}
	fb := rules.fallback[avail]
	return &fb
}

func availabilityOf(fb calendar.FreeBusy) (Availability, bool) {
	switch fb {
	case calendar.Free:
		return Available, true
	case calendar.Tentative:
		return Tentative, true
	case calendar.Busy, "":
		// EWS defaults LegacyFreeBusyStatus to Busy.
		return Busy, true
	case calendar.OutOfOffice:
		return OutOfOffice, true
	case calendar.WorkingElsewhere:
		return WorkingElsewhere, true
	}
	return "", false
}

// segment cuts the axis at every interval boundary and picks the winning
// interval of each elementary stretch (nil: free).
func segment(ivs []*interval) []part {
	cuts := make([]time.Time, 0, 2*len(ivs)+2)
	cuts = append(cuts, farPast, farFuture)
	for _, iv := range ivs {
		cuts = append(cuts, iv.start, iv.end)
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	cuts = slices.CompactFunc(cuts, func(a, b time.Time) bool { return a.Equal(b) })
	// Sweep: intervals enter the active set at their start and leave it
	// after their end; the active set is small.
	sorted := slices.Clone(ivs)
	slices.SortFunc(sorted, func(a, b *interval) int { return a.start.Compare(b.start) })
	parts := make([]part, 0, len(cuts))
	active := make([]*interval, 0, 8)
	next := 0
	for i := 0; i+1 < len(cuts); i++ {
		s, e := cuts[i], cuts[i+1]
		for next < len(sorted) && !sorted[next].start.After(s) {
			active = append(active, sorted[next])
			next++
		}
		kept := active[:0]
		var win *interval
		for _, iv := range active {
			if !iv.end.After(s) {
				continue
			}
			kept = append(kept, iv)
			if win == nil || iv.wins(win) {
				win = iv
			}
		}
		active = kept
		parts = append(parts, part{start: s, end: e, iv: win})
	}
	return parts
}

// sameShow reports whether two intervals publish the same presence apart
// from "until", so that adjacent stretches merge into one block.
func sameShow(a, b *interval) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.avail != b.avail || (a.rule == nil) != (b.rule == nil) {
		return false
	}
	if a.rule == nil {
		return true
	}
	if a.rule.name != b.rule.name || a.rule.index != b.rule.index {
		return false
	}
	if a.rule.usesPrivates {
		da, db := visibleFields(a), visibleFields(b)
		return da == db
	}
	return true
}

// mergeBlocks joins adjacent parts that show the same presence and bridges
// free gaps shorter than gap between blocks that show the same presence.
func mergeBlocks(parts []part, gap time.Duration) []block {
	blocks := make([]block, 0, len(parts))
	first := 0
	for i := 1; i <= len(parts); i++ {
		if i < len(parts) && sameShow(parts[first].iv, parts[i].iv) {
			continue
		}
		blocks = append(blocks, block{start: parts[first].start, end: parts[i-1].end, renderStart: parts[first].start, parts: parts[first:i]})
		first = i
	}
	if gap <= 0 {
		return blocks
	}
	out := blocks[:0]
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if n := len(out); n > 0 && i+1 < len(blocks) && b.parts[0].iv == nil && b.end.Sub(b.start) < gap &&
			out[n-1].parts[0].iv != nil && sameShow(out[n-1].parts[0].iv, blocks[i+1].parts[0].iv) {
			// Parts of consecutive blocks are consecutive in parts, so the
			// merged block's parts are one longer sub-slice.
			last := &out[n-1]
			next := blocks[i+1]
			last.parts = last.parts[:len(last.parts)+len(b.parts)+len(next.parts)]
			last.end = next.end
			i++
			continue
		}
		out = append(out, b)
	}
	return out
}

// visibleFields returns subject, location and organizer as a status text
// may show them: empty for masked items unless the rule reveals them.
func visibleFields(iv *interval) [3]string {
	if iv.occ == nil {
		return [3]string{}
	}
	if iv.occ.Sensitivity.IsMasked() && (iv.rule == nil || !iv.rule.revealPrivate) {
		return [3]string{}
	}
	return [3]string{iv.occ.Subject, iv.occ.Location, iv.occ.Organizer}
}

// render fills b.p from the interval deciding its first part.
func (pl *plan) render(b *block, rules *CompiledRules) {
	iv := b.parts[0].iv
	until := ""
	if b.end.Before(farFuture) {
		until = FormatInstant(b.end, b.renderStart, pl.loc, pl.lang)
	}
	since := ""
	if b.renderStart.After(farPast) {
		since = FormatInstant(b.renderStart, b.renderStart, pl.loc, pl.lang)
	}
	var st compiledState
	var texts textSet
	b.p = &Presence{}
	switch {
	case iv == nil:
		st = rules.free
		texts = st.texts
		*b.p = Presence{Availability: Available, Why: Reason{Source: "free", Detail: "nothing scheduled"}}
	case iv.rule == nil:
		st = rules.autoReply
		texts = st.texts
		*b.p = Presence{Availability: OutOfOffice, Why: pl.reasonFor(iv, Reason{})}
	default:
		st = compiledState{profile: iv.rule.profile, forwardTo: iv.rule.forwardTo}
		texts = iv.rule.texts
		*b.p = Presence{Availability: iv.avail, Why: pl.reasonFor(iv, Reason{})}
	}
	f := [3]string{}
	if iv != nil {
		f = visibleFields(iv)
	}
	b.p.Profile = st.profile
	b.p.ForwardTo = st.forwardTo
	b.p.StatusText = texts.render(pl.lang, textData{Until: until, Since: since, Subject: f[0], Location: f[1], Organizer: f[2],
		Profile: st.profile, Availability: string(b.p.Availability)})
}

// reasonFor explains an interval; base is returned for a nil interval.
func (pl *plan) reasonFor(iv *interval, base Reason) Reason {
	if iv == nil {
		return base
	}
	if iv.rule == nil {
		r := Reason{Source: "automatic_replies", Detail: "automatic replies are on"}
		if iv.start.After(farPast) {
			r.Start, r.End = iv.start, iv.end
			r.Detail = "automatic replies scheduled until " + iv.end.In(pl.loc).Format("2006-01-02 15:04 MST")
		}
		return r
	}
	o := iv.occ
	r := Reason{Source: "calendar", Rule: iv.rule.name, ItemID: o.ItemID, Start: o.Start, End: o.End}
	var detail []string
	kind := "appointment"
	if o.IsMeeting {
		kind = "meeting"
	}
	if o.AllDay {
		kind = "all-day " + kind
	}
	if o.Kind == calendar.KindOccurrence || o.Kind == calendar.KindException {
		kind += " (" + strings.ToLower(string(o.Kind)) + " of a series)"
	}
	detail = append(detail, kind+" shown as "+string(o.FreeBusy))
	if iv.unanswered {
		detail = append(detail, "not answered yet")
	}
	if o.Sensitivity.IsMasked() && !iv.rule.revealPrivate {
		detail = append(detail, strings.ToLower(string(o.Sensitivity))+", subject hidden")
	} else {
		r.Subject = o.Subject
	}
	if iv.rule.builtin {
		detail = append(detail, "no rule matched, built-in mapping")
	}
	if iv.rule.lead > 0 || iv.rule.lag > 0 {
		detail = append(detail, fmt.Sprintf("lead %s, lag %s", iv.rule.lead, iv.rule.lag))
	}
	r.Detail = strings.Join(detail, "; ")
	return r
}

// applyOverride replaces the calendar blocks between o.SetAt and the
// override's end by the override's presence.
func (pl *plan) applyOverride(blocks []block, o Override) []block {
	start := o.SetAt
	end := pl.overrideEnd(o)
	if !end.After(start) {
		return blocks
	}
	profile := o.Profile
	if profile == "" {
		profile = string(o.Availability)
	}
	until := ""
	if end.Before(farFuture) {
		until = FormatInstant(end, start, pl.loc, pl.lang)
	}
	var whyEnd time.Time
	if end.Before(farFuture) {
		whyEnd = end
	}
	texts, _ := compileTexts(o.StatusText, nil)
	detail := "manual override until the next calendar transition"
	if !o.Until.IsZero() {
		detail = "manual override until " + o.Until.In(pl.loc).Format("2006-01-02 15:04 MST")
	}
	ob := block{start: start, end: end, renderStart: start, parts: []part{{start: start, end: end}}, p: &Presence{
		Availability: o.Availability, Profile: profile, ForwardTo: o.ForwardTo,
		StatusText: texts.render(pl.lang, textData{Until: until, Profile: profile, Availability: string(o.Availability)}),
		Why:        Reason{Source: "override", Start: start, End: whyEnd, Detail: detail},
	}}
	out := make([]block, 0, len(blocks)+2)
	for _, b := range blocks {
		if b.start.Before(start) {
			head := b
			head.end = minTime(b.end, start)
			head.parts = clipParts(b.parts, head.start, head.end)
			out = append(out, head)
		}
	}
	out = append(out, ob)
	for _, b := range blocks {
		if b.end.After(end) {
			tail := b
			tail.start = maxTime(b.start, end)
			tail.parts = clipParts(b.parts, tail.start, tail.end)
			out = append(out, tail)
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func clipParts(parts []part, s, e time.Time) []part {
	var out []part
	for _, pt := range parts {
		if !pt.end.After(s) || !pt.start.Before(e) {
			continue
		}
		pt.start = maxTime(pt.start, s)
		if pt.end.After(e) {
			pt.end = e
		}
		out = append(out, pt)
	}
	return out
}

// compact keeps the blocks from the one containing now up to the first one
// starting after now+ahead, copying what they reference, so that a plan
// held for a long time does not pin the whole calendar in memory. It
// returns the start of the last kept block: the plan must be rebuilt
// before then.
func (pl *plan) compact(now time.Time, ahead time.Duration) time.Time {
	first := pl.blockIndex(now)
	last := len(pl.blocks) - 1
	for j := first; j < len(pl.blocks); j++ {
		if pl.blocks[j].start.After(now.Add(ahead)) {
			last = j
			break
		}
	}
	kept := make([]block, 0, last-first+1)
	copies := map[*interval]*interval{}
	for _, b := range pl.blocks[first : last+1] {
		parts := make([]part, len(b.parts))
		for k, pt := range b.parts {
			if pt.iv != nil {
				c := copies[pt.iv]
				if c == nil {
					cp := *pt.iv
					if cp.occ != nil {
						o := *cp.occ
						o.Categories = slices.Clone(o.Categories)
						cp.occ = &o
					}
					c = &cp
					copies[pt.iv] = c
				}
				pt.iv = c
			}
			parts[k] = pt
		}
		b.parts = parts
		kept = append(kept, b)
	}
	truncated := last < len(pl.blocks)-1
	pl.blocks = kept
	if truncated {
		return kept[len(kept)-1].start
	}
	return farFuture
}
