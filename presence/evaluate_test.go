package presence

import (
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := calendar.LoadZone(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at parses "2025-11-24 14:30" in Berlin.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

type occOpt func(*calendar.Occurrence)

func meeting(o *calendar.Occurrence) { o.IsMeeting = true; o.Response = calendar.ResponseAccept }
func fb(v calendar.FreeBusy) occOpt  { return func(o *calendar.Occurrence) { o.FreeBusy = v } }
func resp(r calendar.ResponseType) occOpt {
	return func(o *calendar.Occurrence) { o.IsMeeting = true; o.Response = r }
}
func sens(s calendar.Sensitivity) occOpt { return func(o *calendar.Occurrence) { o.Sensitivity = s } }
func subj(s string) occOpt               { return func(o *calendar.Occurrence) { o.Subject = s } }
func loc(s string) occOpt                { return func(o *calendar.Occurrence) { o.Location = s } }
func cats(c ...string) occOpt            { return func(o *calendar.Occurrence) { o.Categories = c } }
func cancelled(o *calendar.Occurrence)   { o.Cancelled = true }
func series(master string, k calendar.ItemKind) occOpt {
	return func(o *calendar.Occurrence) { o.MasterID = master; o.Kind = k }
}

func occ(id, start, end string, opts ...occOpt) calendar.Occurrence {
	o := calendar.Occurrence{ItemID: id, Kind: calendar.KindSingle, Subject: "Subject " + id, Start: at(start).UTC(), End: at(end).UTC(),
		FreeBusy: calendar.Busy, Sensitivity: calendar.Normal, Response: calendar.ResponseOrganizer, TimeZone: "Europe/Berlin"}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// allDay builds an all-day item over local dates [from, to) in zone.
func allDay(id, from, to string, zone *time.Location, opts ...occOpt) calendar.Occurrence {
	s, _ := time.ParseInLocation("2006-01-02", from, zone)
	e, _ := time.ParseInLocation("2006-01-02", to, zone)
	o := calendar.Occurrence{ItemID: id, Kind: calendar.KindSingle, Subject: "All day " + id, Start: s.UTC(), End: e.UTC(),
		AllDay: true, TimeZone: zone.String(), FreeBusy: calendar.Busy, Sensitivity: calendar.Normal, Response: calendar.ResponseOrganizer}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func mustCompile(t testing.TB, rs RuleSet) *CompiledRules {
	t.Helper()
	c, err := CompileRuleSet(rs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEvaluate(t *testing.T) {
	revealRule := Rule{Name: "doctor", Match: Match{Subject: "doctor"}, Profile: "away", StatusText: "{{subject}} @ {{location}} until {{until}}", RevealPrivate: true}
	leakyRule := Rule{Name: "leaky", Match: Match{Subject: "doctor"}, Profile: "away", StatusText: "{{subject}} @ {{location}} until {{until}}"}
	tests := []struct {
		name      string
		occ       []calendar.Occurrence
		oof       calendar.OOFSettings
		rs        RuleSet
		lang      string
		override  *Override
		untrusted bool
		at        string
		want      Availability
		text      string // exact status text
		until     string // "" = open-ended
		rule      string
		source    string
		notIn     []string // strings that must not appear anywhere
	}{
		{name: "empty calendar", at: "2025-11-24 10:00", want: Available, source: "free"},
		{name: "meeting", occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)}, at: "2025-11-24 14:30",
			want: Busy, text: "In a meeting until 15:00", until: "2025-11-24 15:00", rule: "meeting", source: "calendar"},
		{name: "meeting starts exactly now", occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)}, at: "2025-11-24 14:00",
			want: Busy, until: "2025-11-24 15:00"},
		{name: "meeting ended exactly now", occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)}, at: "2025-11-24 15:00",
			want: Available, source: "free"},
		{name: "german", lang: "de", occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)}, at: "2025-11-24 14:30",
			want: Busy, text: "In einer Besprechung bis 15:00"},
		{name: "back-to-back merge", occ: []calendar.Occurrence{
			occ("a", "2025-11-24 14:00", "2025-11-24 15:00", meeting), occ("b", "2025-11-24 15:00", "2025-11-24 16:00", meeting)},
			at: "2025-11-24 14:30", want: Busy, text: "In a meeting until 16:00", until: "2025-11-24 16:00"},
		{name: "gap not merged by default", occ: []calendar.Occurrence{
			occ("a", "2025-11-24 14:00", "2025-11-24 15:00", meeting), occ("b", "2025-11-24 15:10", "2025-11-24 16:00", meeting)},
			at: "2025-11-24 14:30", want: Busy, until: "2025-11-24 15:00"},
		{name: "gap below merge gap", rs: RuleSet{Options: Options{MergeGapMinutes: 15}}, occ: []calendar.Occurrence{
			occ("a", "2025-11-24 14:00", "2025-11-24 15:00", meeting), occ("b", "2025-11-24 15:10", "2025-11-24 16:00", meeting)},
			at: "2025-11-24 15:05", want: Busy, text: "In a meeting until 16:00", until: "2025-11-24 16:00"},
		{name: "gap not below merge gap", rs: RuleSet{Options: Options{MergeGapMinutes: 10}}, occ: []calendar.Occurrence{
			occ("a", "2025-11-24 14:00", "2025-11-24 15:00", meeting), occ("b", "2025-11-24 15:10", "2025-11-24 16:00", meeting)},
			at: "2025-11-24 15:05", want: Available},
		{name: "busy and meeting do not merge", occ: []calendar.Occurrence{
			occ("a", "2025-11-24 14:00", "2025-11-24 15:00", meeting), occ("b", "2025-11-24 15:00", "2025-11-24 16:00")},
			at: "2025-11-24 14:30", want: Busy, until: "2025-11-24 15:00", text: "In a meeting until 15:00"},
		{name: "overlap OOF beats busy", occ: []calendar.Occurrence{
			occ("a", "2025-11-24 14:00", "2025-11-24 16:00", meeting), occ("o", "2025-11-24 15:00", "2025-11-24 15:30", fb(calendar.OutOfOffice))},
			at: "2025-11-24 15:10", want: OutOfOffice, text: "Out of office until 15:30", until: "2025-11-24 15:30", rule: "out-of-office"},
		{name: "overlap busy before OOF part", occ: []calendar.Occurrence{
			occ("a", "2025-11-24 14:00", "2025-11-24 16:00", meeting), occ("o", "2025-11-24 15:00", "2025-11-24 15:30", fb(calendar.OutOfOffice))},
			at: "2025-11-24 14:10", want: Busy, until: "2025-11-24 15:00"},
		{name: "overlap busy beats tentative", occ: []calendar.Occurrence{
			occ("t", "2025-11-24 14:00", "2025-11-24 15:00", fb(calendar.Tentative)), occ("b", "2025-11-24 14:30", "2025-11-24 15:30", meeting)},
			at: "2025-11-24 14:45", want: Busy, until: "2025-11-24 15:30", rule: "meeting"},
		{name: "tentative before overlap", occ: []calendar.Occurrence{
			occ("t", "2025-11-24 14:00", "2025-11-24 15:00", fb(calendar.Tentative)), occ("b", "2025-11-24 14:30", "2025-11-24 15:30", meeting)},
			at: "2025-11-24 14:10", want: Tentative, text: "Tentatively busy until 14:30", rule: "tentative"},
		{name: "working elsewhere beats tentative", occ: []calendar.Occurrence{
			occ("t", "2025-11-24 09:00", "2025-11-24 12:00", fb(calendar.Tentative)), occ("w", "2025-11-24 08:00", "2025-11-24 17:00", fb(calendar.WorkingElsewhere))},
			at: "2025-11-24 10:00", want: WorkingElsewhere, text: "Working elsewhere until 17:00"},
		{name: "cancelled ignored", occ: []calendar.Occurrence{occ("c", "2025-11-24 14:00", "2025-11-24 15:00", meeting, cancelled)},
			at: "2025-11-24 14:30", want: Available},
		{name: "declined ignored", occ: []calendar.Occurrence{occ("d", "2025-11-24 14:00", "2025-11-24 15:00", resp(calendar.ResponseDecline))},
			at: "2025-11-24 14:30", want: Available},
		{name: "unanswered is tentative", occ: []calendar.Occurrence{occ("u", "2025-11-24 14:00", "2025-11-24 15:00", resp(calendar.ResponseNoResponse))},
			at: "2025-11-24 14:30", want: Tentative, rule: "tentative"},
		{name: "unanswered unknown response is tentative", occ: []calendar.Occurrence{occ("u", "2025-11-24 14:00", "2025-11-24 15:00", resp(calendar.ResponseUnknown))},
			at: "2025-11-24 14:30", want: Tentative},
		{name: "unanswered as shown", rs: RuleSet{Options: Options{Unanswered: UnansweredAsShown}},
			occ: []calendar.Occurrence{occ("u", "2025-11-24 14:00", "2025-11-24 15:00", resp(calendar.ResponseNoResponse))},
			at:  "2025-11-24 14:30", want: Busy, rule: "meeting"},
		{name: "unanswered ignored", rs: RuleSet{Options: Options{Unanswered: UnansweredIgnore}},
			occ: []calendar.Occurrence{occ("u", "2025-11-24 14:00", "2025-11-24 15:00", resp(calendar.ResponseNoResponse))},
			at:  "2025-11-24 14:30", want: Available},
		{name: "tentatively accepted", occ: []calendar.Occurrence{occ("t", "2025-11-24 14:00", "2025-11-24 15:00", resp(calendar.ResponseTentative), fb(calendar.Tentative))},
			at: "2025-11-24 14:30", want: Tentative},
		{name: "private masked", occ: []calendar.Occurrence{occ("p", "2025-11-24 14:00", "2025-11-24 15:00", sens(calendar.Private), subj("Doctor Miller"), loc("Clinic"))},
			at: "2025-11-24 14:30", want: Busy, text: "Busy until 15:00", rule: "private", notIn: []string{"Doctor", "Clinic"}},
		{name: "confidential meeting masked", occ: []calendar.Occurrence{occ("p", "2025-11-24 14:00", "2025-11-24 15:00", meeting, sens(calendar.Confidential), subj("Layoffs"))},
			at: "2025-11-24 14:30", want: Busy, text: "Busy until 15:00", notIn: []string{"Layoffs"}},
		{name: "private template without reveal stays masked", rs: RuleSet{Rules: []Rule{leakyRule}},
			occ: []calendar.Occurrence{occ("p", "2025-11-24 14:00", "2025-11-24 15:00", sens(calendar.Private), subj("Doctor Miller"), loc("Clinic"))},
			at:  "2025-11-24 14:30", want: Busy, text: "@ until 15:00", rule: "leaky", notIn: []string{"Doctor", "Clinic"}},
		{name: "private revealed by rule", rs: RuleSet{Rules: []Rule{revealRule}},
			occ: []calendar.Occurrence{occ("p", "2025-11-24 14:00", "2025-11-24 15:00", sens(calendar.Private), subj("Doctor Miller"), loc("Clinic"))},
			at:  "2025-11-24 14:30", want: Busy, text: "Doctor Miller @ Clinic until 15:00", rule: "doctor"},
		{name: "private OOF stays OOF", occ: []calendar.Occurrence{occ("p", "2025-11-24 14:00", "2025-11-24 15:00", sens(calendar.Private), fb(calendar.OutOfOffice), subj("Secret"))},
			at: "2025-11-24 14:30", want: OutOfOffice, notIn: []string{"Secret"}},
		{name: "free item ignored", occ: []calendar.Occurrence{occ("f", "2025-11-24 14:00", "2025-11-24 15:00", fb(calendar.Free))},
			at: "2025-11-24 14:30", want: Available, source: "free"},
		{name: "all-day free ignored", occ: []calendar.Occurrence{allDay("f", "2025-11-24", "2025-11-25", berlin, fb(calendar.Free))},
			at: "2025-11-24 14:30", want: Available},
		{name: "all-day working elsewhere", occ: []calendar.Occurrence{allDay("w", "2025-11-24", "2025-11-25", berlin, fb(calendar.WorkingElsewhere))},
			at: "2025-11-24 14:30", want: WorkingElsewhere, text: "Working elsewhere until Mon 24 Nov", until: "2025-11-25 00:00"},
		{name: "multi-day OOF", occ: []calendar.Occurrence{allDay("o", "2025-11-24", "2025-11-29", berlin, fb(calendar.OutOfOffice))},
			at: "2025-11-25 09:00", want: OutOfOffice, text: "Out of office until Fri 28 Nov", until: "2025-11-29 00:00"},
		{name: "multi-day OOF german", lang: "de", occ: []calendar.Occurrence{allDay("o", "2025-11-24", "2025-11-29", berlin, fb(calendar.OutOfOffice))},
			at: "2025-11-25 09:00", want: OutOfOffice, text: "Abwesend bis Fr. 28.11."},
		{name: "meeting into next day", occ: []calendar.Occurrence{occ("m", "2025-11-24 22:00", "2025-11-25 02:00", meeting)},
			at: "2025-11-24 23:00", want: Busy, text: "In a meeting until Tue 25 Nov 02:00"},
		{name: "automatic replies enabled", oof: calendar.OOFSettings{State: calendar.OOFEnabled},
			occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)},
			at:  "2025-11-24 14:30", want: OutOfOffice, text: "Out of office", source: "automatic_replies"},
		{name: "automatic replies scheduled inside", oof: calendar.OOFSettings{State: calendar.OOFScheduled, Start: at("2025-11-24 12:00"), End: at("2025-11-26 08:00")},
			at: "2025-11-24 14:30", want: OutOfOffice, text: "Out of office until Wed 26 Nov 08:00", until: "2025-11-26 08:00", source: "automatic_replies"},
		{name: "automatic replies scheduled before window", oof: calendar.OOFSettings{State: calendar.OOFScheduled, Start: at("2025-11-24 12:00"), End: at("2025-11-26 08:00")},
			at: "2025-11-24 11:59", want: Available},
		{name: "automatic replies scheduled ended", oof: calendar.OOFSettings{State: calendar.OOFScheduled, Start: at("2025-11-24 12:00"), End: at("2025-11-26 08:00")},
			at: "2025-11-26 08:00", want: Available},
		{name: "automatic replies disabled with stale window", oof: calendar.OOFSettings{State: calendar.OOFDisabled, Start: at("2025-11-24 12:00"), End: at("2025-11-26 08:00")},
			at: "2025-11-24 14:30", want: Available},
		{name: "rule on categories with forward and lead", rs: RuleSet{Rules: []Rule{{Name: "focus", Match: Match{Categories: []string{"focus"}},
			Availability: Busy, Profile: "dnd", StatusText: "Focus until {{until}}", ForwardTo: "+4930123", LeadMinutes: 5, LagMinutes: 10}}},
			occ: []calendar.Occurrence{occ("f", "2025-11-24 14:00", "2025-11-24 15:00", fb(calendar.Free), cats("Focus"))},
			at:  "2025-11-24 13:56", want: Busy, text: "Focus until 15:10", until: "2025-11-24 15:10", rule: "focus"},
		{name: "rule on subject and location regex", rs: RuleSet{Rules: []Rule{{Name: "travel", Match: Match{Subject: "^flight", Location: "airport"}, Availability: OutOfOffice, Profile: "travel", StatusText: "Travelling"}}},
			occ: []calendar.Occurrence{occ("t", "2025-11-24 14:00", "2025-11-24 15:00", subj("FLIGHT LH123"), loc("Munich Airport"))},
			at:  "2025-11-24 14:30", want: OutOfOffice, text: "Travelling", rule: "travel"},
		{name: "ignore rule", rs: RuleSet{Rules: []Rule{{Name: "lunch", Match: Match{Subject: "lunch", Meeting: new(bool)}, Ignore: true}}},
			occ: []calendar.Occurrence{occ("l", "2025-11-24 12:00", "2025-11-24 13:00", subj("Lunch"))},
			at:  "2025-11-24 12:30", want: Available},
		{name: "organizer rule", rs: RuleSet{Rules: []Rule{{Name: "boss", Match: Match{Organizer: "^ceo@", Response: []string{"accepted"}}, Profile: "vip", StatusText: "With the CEO"}}},
			occ: []calendar.Occurrence{occ("b", "2025-11-24 12:00", "2025-11-24 13:00", meeting, func(o *calendar.Occurrence) { o.Organizer = "ceo@example.com" })},
			at:  "2025-11-24 12:30", want: Busy, text: "With the CEO", rule: "boss"},
		{name: "no default rules uses built-in mapping", rs: RuleSet{Options: Options{DefaultRules: new(bool)}},
			occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)},
			at:  "2025-11-24 14:30", want: Busy, text: "Busy until 15:00", rule: ""},
		{name: "subject template splits back-to-back blocks", rs: RuleSet{Rules: []Rule{{Name: "subj", Match: Match{Meeting: boolPtr(true)}, Profile: "meeting", StatusText: "{{subject}} until {{until}}"}}},
			occ: []calendar.Occurrence{occ("a", "2025-11-24 14:00", "2025-11-24 15:00", meeting), occ("b", "2025-11-24 15:00", "2025-11-24 16:00", meeting)},
			at:  "2025-11-24 14:30", want: Busy, text: "Subject a until 15:00", until: "2025-11-24 15:00"},
		{name: "gap between different presences is not bridged", rs: RuleSet{Options: Options{MergeGapMinutes: 30}},
			occ: []calendar.Occurrence{occ("a", "2025-11-24 14:00", "2025-11-24 15:00", meeting), occ("b", "2025-11-24 15:10", "2025-11-24 16:00", fb(calendar.Tentative))},
			at:  "2025-11-24 15:05", want: Available},
		{name: "lead time merges with the previous meeting", rs: RuleSet{Rules: []Rule{{Name: "travel", Match: Match{Location: "building b"}, Profile: "in_a_meeting",
			StatusText: "In a meeting{{if .Until}} until {{.Until}}{{end}}", LeadMinutes: 15}}},
			occ: []calendar.Occurrence{occ("a", "2025-11-24 14:00", "2025-11-24 14:50", meeting), occ("b", "2025-11-24 15:00", "2025-11-24 16:00", meeting, loc("Building B"))},
			at:  "2025-11-24 14:55", want: Busy, until: "2025-11-24 16:00", rule: "travel"},
		{name: "all-day tentative is tentative", occ: []calendar.Occurrence{allDay("t", "2025-11-24", "2025-11-25", berlin, fb(calendar.Tentative))},
			at: "2025-11-24 23:59", want: Tentative},
		{name: "untrusted is unknown", untrusted: true, occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)},
			at: "2025-11-24 14:30", want: Unknown, source: "no_data"},
		{name: "override until next transition", override: &Override{Availability: Busy, StatusText: "Do not disturb until {{until}}", SetAt: at("2025-11-24 10:00")},
			occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)},
			at:  "2025-11-24 13:59", want: Busy, text: "Do not disturb until 14:00", until: "2025-11-24 14:00", source: "override"},
		{name: "override ended at next transition", override: &Override{Availability: Busy, SetAt: at("2025-11-24 10:00")},
			occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)},
			at:  "2025-11-24 14:00", want: Busy, rule: "meeting", source: "calendar"},
		{name: "override until X beats the calendar", override: &Override{Availability: Available, Profile: "present", SetAt: at("2025-11-24 10:00"), Until: at("2025-11-24 14:30")},
			occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)},
			at:  "2025-11-24 14:10", want: Available, until: "2025-11-24 14:30", source: "override"},
		{name: "calendar resumes after override until X", override: &Override{Availability: Available, SetAt: at("2025-11-24 10:00"), Until: at("2025-11-24 14:30")},
			occ: []calendar.Occurrence{occ("m", "2025-11-24 14:00", "2025-11-24 15:00", meeting)},
			at:  "2025-11-24 14:30", want: Busy, until: "2025-11-24 15:00", source: "calendar"},
		{name: "override beats unknown", untrusted: true, override: &Override{Availability: OutOfOffice, SetAt: at("2025-11-24 10:00"), Until: at("2025-11-24 18:00")},
			at: "2025-11-24 14:10", want: OutOfOffice, source: "override"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := mustCompile(t, tt.rs)
			in := Input{User: "alice@example.com", Occurrences: tt.occ, OOF: tt.oof, Trusted: !tt.untrusted, Location: berlin, Language: tt.lang, Override: tt.override}
			p := Evaluate(in, rules, at(tt.at))
			if p.Availability != tt.want {
				t.Errorf("availability = %s, want %s (presence %+v)", p.Availability, tt.want, p)
			}
			if tt.text != "" && p.StatusText != tt.text {
				t.Errorf("status text = %q, want %q", p.StatusText, tt.text)
			}
			if tt.until != "" && !p.Until.Equal(at(tt.until)) {
				t.Errorf("until = %s, want %s", p.Until.In(berlin), tt.until)
			}
			if tt.rule != "" && p.Why.Rule != tt.rule {
				t.Errorf("rule = %q, want %q", p.Why.Rule, tt.rule)
			}
			if tt.source != "" && p.Why.Source != tt.source {
				t.Errorf("source = %q, want %q", p.Why.Source, tt.source)
			}
			if p.User != "alice@example.com" || !p.ComputedAt.Equal(at(tt.at)) {
				t.Errorf("user/computed_at = %q %s", p.User, p.ComputedAt)
			}
			if !p.Until.IsZero() && (p.Next == nil || !p.Next.At.Equal(p.Until)) {
				t.Errorf("next = %+v, want a transition at until %s", p.Next, p.Until)
			}
			if p.Since.After(at(tt.at)) || (!p.Until.IsZero() && !p.Until.After(at(tt.at))) {
				t.Errorf("block [%s, %s) does not contain %s", p.Since, p.Until, tt.at)
			}
			for _, secret := range tt.notIn {
				all := p.StatusText + "|" + p.Why.Subject + "|" + p.Why.Detail + "|" + p.Profile
				if p.Next != nil {
					all += "|" + p.Next.StatusText
				}
				if strings.Contains(all, secret) {
					t.Errorf("masked %q leaked into %q", secret, all)
				}
			}
		})
	}
}

func TestEvaluateRecurringWithExceptionsAndDeletions(t *testing.T) {
	// Daily stand-up 09:00-09:15 Mon..Fri, as CalendarView expands it:
	// Tuesday moved to 10:00 (exception), Wednesday deleted (absent),
	// Thursday declined (still present but declined).
	o := []calendar.Occurrence{
		occ("mon", "2025-11-24 09:00", "2025-11-24 09:15", meeting, series("M", calendar.KindOccurrence)),
		occ("tue", "2025-11-25 10:00", "2025-11-25 10:15", meeting, series("M", calendar.KindException)),
		occ("thu", "2025-11-27 09:00", "2025-11-27 09:15", resp(calendar.ResponseDecline), series("M", calendar.KindOccurrence)),
		occ("fri", "2025-11-28 09:00", "2025-11-28 09:15", meeting, series("M", calendar.KindOccurrence)),
	}
	rules := mustCompile(t, RuleSet{})
	in := Input{User: "u", Occurrences: o, Trusted: true, Location: berlin}
	cases := []struct {
		at   string
		want Availability
		item string
	}{
		{"2025-11-24 09:05", Busy, "mon"},
		{"2025-11-25 09:05", Available, ""},
		{"2025-11-25 10:05", Busy, "tue"},
		{"2025-11-26 09:05", Available, ""},
		{"2025-11-27 09:05", Available, ""},
		{"2025-11-28 09:14", Busy, "fri"},
	}
	for _, c := range cases {
		p := Evaluate(in, rules, at(c.at))
		if p.Availability != c.want || p.Why.ItemID != c.item {
			t.Errorf("%s: %s by %q, want %s by %q", c.at, p.Availability, p.Why.ItemID, c.want, c.item)
		}
	}
	if p := Evaluate(in, rules, at("2025-11-25 10:05")); !strings.Contains(p.Why.Detail, "exception of a series") {
		t.Errorf("why detail %q does not name the exception", p.Why.Detail)
	}
}

func TestEvaluateAllDayAcrossDST(t *testing.T) {
	tests := []struct {
		zone    string
		day     string // local date of a DST change
		hours   float64
		winZone string
	}{
		{"Europe/Berlin", "2025-03-30", 23, "W. Europe Standard Time"},
		{"Europe/Berlin", "2025-10-26", 25, "W. Europe Standard Time"},
		{"America/New_York", "2025-03-09", 23, "Eastern Standard Time"},
		{"America/New_York", "2025-11-02", 25, "Eastern Standard Time"},
		{"Australia/Sydney", "2025-04-06", 25, "AUS Eastern Standard Time"},
		{"Australia/Sydney", "2025-10-05", 23, "AUS Eastern Standard Time"},
	}
	rules := mustCompile(t, RuleSet{})
	for _, tt := range tests {
		zone := mustZone(tt.zone)
		d, _ := time.ParseInLocation("2006-01-02", tt.day, zone)
		next := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, zone)
		variants := map[string]calendar.Occurrence{
			// Exact local midnights, IANA zone on the item.
			"exact": {ItemID: "x", AllDay: true, Start: d.UTC(), End: next.UTC(), TimeZone: tt.zone, FreeBusy: calendar.OutOfOffice},
			// A producer that added 24h instead of one calendar day.
			"plus 24h": {ItemID: "x", AllDay: true, Start: d.UTC(), End: d.Add(24 * time.Hour).UTC(), TimeZone: tt.zone, FreeBusy: calendar.OutOfOffice},
			// Windows zone id on the item.
			"windows id": {ItemID: "x", AllDay: true, Start: d.UTC(), End: next.UTC(), TimeZone: tt.winZone, FreeBusy: calendar.OutOfOffice},
			// No zone on the item: the mailbox zone applies.
			"no zone": {ItemID: "x", AllDay: true, Start: d.UTC(), End: next.UTC(), FreeBusy: calendar.OutOfOffice},
		}
		for name, o := range variants {
			t.Run(tt.zone+" "+tt.day+" "+name, func(t *testing.T) {
				s, e := calendar.AllDaySpan(o, zone)
				if !s.Equal(d) || !e.Equal(next) {
					t.Fatalf("AllDaySpan = [%s, %s), want [%s, %s)", s, e, d, next)
				}
				if got := e.Sub(s).Hours(); got != tt.hours {
					t.Errorf("day has %v hours, want %v", got, tt.hours)
				}
				in := Input{User: "u", Occurrences: []calendar.Occurrence{o}, Trusted: true, Location: zone}
				for _, c := range []struct {
					t    time.Time
					want Availability
				}{{d.Add(-time.Minute), Available}, {d, OutOfOffice}, {next.Add(-time.Minute), OutOfOffice}, {next, Available}} {
					if p := Evaluate(in, rules, c.t); p.Availability != c.want {
						t.Errorf("at %s: %s, want %s", c.t.In(zone), p.Availability, c.want)
					}
				}
				p := Evaluate(in, rules, d.Add(time.Hour))
				if !p.Until.Equal(next) || !p.Since.Equal(d) {
					t.Errorf("block [%s, %s), want [%s, %s)", p.Since, p.Until, d, next)
				}
				wantText := "Out of office until " + formatDay(d, "en")
				if p.StatusText != wantText {
					t.Errorf("text %q, want %q", p.StatusText, wantText)
				}
			})
		}
	}
}

func TestTimeline(t *testing.T) {
	rules := mustCompile(t, RuleSet{})
	in := Input{User: "u", Trusted: true, Location: berlin, Window: calendar.Window{Start: at("2025-11-24 00:00"), End: at("2025-12-01 00:00")},
		Occurrences: []calendar.Occurrence{
			occ("a", "2025-11-24 09:00", "2025-11-24 10:00", meeting),
			occ("b", "2025-11-24 10:00", "2025-11-24 11:00", meeting),
			occ("c", "2025-11-24 13:00", "2025-11-24 14:00", fb(calendar.Tentative)),
		}}
	got := Timeline(in, rules, at("2025-11-24 08:00"), at("2025-11-24 18:00"))
	want := []struct {
		avail        Availability
		since, until string
	}{
		{Available, "", "2025-11-24 09:00"}, // free since before the window: not known
		{Busy, "2025-11-24 09:00", "2025-11-24 11:00"},
		{Available, "2025-11-24 11:00", "2025-11-24 13:00"},
		{Tentative, "2025-11-24 13:00", "2025-11-24 14:00"},
		{Available, "2025-11-24 14:00", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("timeline has %d segments, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		sinceOK := (w.since == "" && g.Since.IsZero()) || (w.since != "" && g.Since.Equal(at(w.since)))
		if g.Availability != w.avail || !sinceOK || (w.until == "" && !g.Until.IsZero()) || (w.until != "" && !g.Until.Equal(at(w.until))) {
			t.Errorf("segment %d = %s [%s, %s), want %s [%s, %s)", i, g.Availability, g.Since, g.Until, w.avail, w.since, w.until)
		}
		if i+1 < len(got) && (g.Next == nil || g.Next.Availability != got[i+1].Availability || !g.Next.At.Equal(got[i+1].Since)) {
			t.Errorf("segment %d next = %+v, want the following segment", i, g.Next)
		}
	}
	if got[len(got)-1].Next != nil {
		t.Errorf("last segment has a next transition %+v", got[len(got)-1].Next)
	}
	// The merged block explains each part by its own item.
	if p := Evaluate(in, rules, at("2025-11-24 10:30")); p.Why.ItemID != "b" || !p.Since.Equal(at("2025-11-24 09:00")) {
		t.Errorf("why = %+v since %s, want item b and the block start", p.Why, p.Since)
	}
}

func TestFormatInstant(t *testing.T) {
	ref := at("2025-11-24 09:00")
	cases := []struct {
		t      time.Time
		lang   string
		expect string
	}{
		{at("2025-11-24 15:00"), "en", "15:00"},
		{at("2025-11-24 15:00"), "de", "15:00"},
		{at("2025-11-25 08:30"), "en", "Tue 25 Nov 08:30"},
		{at("2025-11-25 08:30"), "de", "Di. 25.11. 08:30"},
		{at("2025-11-26 00:00"), "en", "Tue 25 Nov"},
		{at("2025-11-26 00:00"), "de", "Di. 25.11."},
		{time.Time{}, "en", ""},
	}
	for _, c := range cases {
		if got := FormatInstant(c.t, ref, berlin, c.lang); got != c.expect {
			t.Errorf("FormatInstant(%s, %s) = %q, want %q", c.t, c.lang, got, c.expect)
		}
	}
}

func TestTimelineWithOverride(t *testing.T) {
	rules := mustCompile(t, RuleSet{})
	in := Input{User: "u", Trusted: true, Location: berlin,
		Occurrences: []calendar.Occurrence{occ("a", "2025-11-24 09:00", "2025-11-24 11:00", meeting)},
		Override:    &Override{Availability: OutOfOffice, SetAt: at("2025-11-24 08:00"), Until: at("2025-11-24 10:00")}}
	got := Timeline(in, rules, at("2025-11-24 07:00"), at("2025-11-24 12:00"))
	want := []struct {
		avail  Availability
		source string
		since  string
	}{
		{Available, "free", ""},
		{OutOfOffice, "override", "2025-11-24 08:00"},
		{Busy, "calendar", "2025-11-24 10:00"},
		{Available, "free", "2025-11-24 11:00"},
	}
	if len(got) != len(want) {
		t.Fatalf("timeline = %+v", got)
	}
	for i, w := range want {
		if got[i].Availability != w.avail || got[i].Why.Source != w.source || (w.since != "" && !got[i].Since.Equal(at(w.since))) {
			t.Errorf("segment %d = %s/%s since %s, want %s/%s since %s", i, got[i].Availability, got[i].Why.Source, got[i].Since, w.avail, w.source, w.since)
		}
	}
	// The meeting's text keeps its real end although the override clipped it.
	if got[2].StatusText != "In a meeting until 11:00" {
		t.Errorf("clipped meeting text = %q", got[2].StatusText)
	}
}
