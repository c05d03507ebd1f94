package presence

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
)

// randomCalendar builds n occurrences on 2025-11-24/25 in Berlin with
// random times (on a 5-minute grid, so that boundaries coincide often),
// statuses, responses and sensitivities. Private items carry "SECRET".
func randomCalendar(r *rand.Rand, n int) []calendar.Occurrence {
	fbs := []calendar.FreeBusy{calendar.Free, calendar.Tentative, calendar.Busy, calendar.OutOfOffice, calendar.WorkingElsewhere}
	resps := []calendar.ResponseType{calendar.ResponseOrganizer, calendar.ResponseAccept, calendar.ResponseTentative, calendar.ResponseDecline, calendar.ResponseNoResponse}
	sens := []calendar.Sensitivity{calendar.Normal, calendar.Normal, calendar.Personal, calendar.Private, calendar.Confidential}
	base := at("2025-11-24 00:00")
	out := make([]calendar.Occurrence, 0, n)
	for i := range n {
		o := calendar.Occurrence{ItemID: fmt.Sprint("o", i), FreeBusy: fbs[r.IntN(len(fbs))], Response: resps[r.IntN(len(resps))],
			Sensitivity: sens[r.IntN(len(sens))], IsMeeting: r.IntN(2) == 0, Cancelled: r.IntN(10) == 0, Subject: fmt.Sprint("Topic ", i), Location: "Room"}
		if o.Sensitivity.IsMasked() {
			o.Subject, o.Location = fmt.Sprint("SECRET subject ", i), "SECRET place"
		}
		if r.IntN(8) == 0 {
			d := base.AddDate(0, 0, r.IntN(2))
			o.AllDay, o.Start, o.End, o.TimeZone = true, d.UTC(), d.AddDate(0, 0, 1+r.IntN(2)).UTC(), "Europe/Berlin"
		} else {
			o.Start = base.Add(time.Duration(r.IntN(48*12)) * 5 * time.Minute).UTC()
			o.End = o.Start.Add(time.Duration(1+r.IntN(36)) * 5 * time.Minute)
		}
		out = append(out, o)
	}
	return out
}

// expectedAvailability is an independent oracle for the default rules with
// no merge gap: the highest-priority availability among the items covering t.
func expectedAvailability(occ []calendar.Occurrence, t time.Time) Availability {
	best := Available
	for _, o := range occ {
		if o.Cancelled || o.Response == calendar.ResponseDecline || !(!t.Before(o.Start) && t.Before(o.End)) {
			continue
		}
		var a Availability
		switch o.FreeBusy {
		case calendar.Free:
			continue
		case calendar.Tentative:
			a = Tentative
		case calendar.Busy:
			a = Busy
		case calendar.OutOfOffice:
			a = OutOfOffice
		case calendar.WorkingElsewhere:
			a = WorkingElsewhere
		}
		if o.IsMeeting && o.Response == calendar.ResponseNoResponse {
			a = Tentative
		}
		if priority(a) > priority(best) {
			best = a
		}
	}
	return best
}

func TestTimelineProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rules := mustCompile(t, RuleSet{})
	from, to := at("2025-11-23 12:00"), at("2025-11-27 00:00")
	for round := range 300 {
		occ := randomCalendar(r, 1+r.IntN(25))
		in := Input{User: "u", Occurrences: occ, Trusted: true, Location: berlin}
		segs := Timeline(in, rules, from, to)
		if len(segs) == 0 {
			t.Fatalf("round %d: empty timeline", round)
		}
		for i, s := range segs {
			if i+1 < len(segs) {
				if !s.Until.Equal(segs[i+1].Since) {
					t.Fatalf("round %d: segment %d ends %s, next starts %s", round, i, s.Until, segs[i+1].Since)
				}
				if s.Next == nil || !s.Next.At.Equal(s.Until) || s.Next.Availability != segs[i+1].Availability || s.Next.StatusText != segs[i+1].StatusText {
					t.Fatalf("round %d: segment %d next %+v does not describe segment %d", round, i, s.Next, i+1)
				}
			}
			for _, leak := range []string{s.StatusText, s.Why.Subject, s.Why.Detail} {
				if strings.Contains(leak, "SECRET") {
					t.Fatalf("round %d: masked text leaked: %q", round, leak)
				}
			}
		}
		// Evaluate agrees with the oracle and with the timeline at the
		// boundaries (where mistakes hide) and at random instants.
		var instants []time.Time
		for _, o := range occ {
			instants = append(instants, o.Start, o.End, o.Start.Add(-time.Nanosecond), o.End.Add(-time.Nanosecond))
		}
		for range 10 {
			instants = append(instants, from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))))
		}
		for _, ti := range instants {
			if ti.Before(from) || !ti.Before(to) {
				continue
			}
			p := Evaluate(in, rules, ti)
			if want := expectedAvailability(occ, ti); p.Availability != want {
				t.Fatalf("round %d: at %s availability %s, oracle %s (why %+v)", round, ti.In(berlin), p.Availability, want, p.Why)
			}
			var seg *Presence
			for i := range segs {
				if !ti.Before(segs[i].Since) && (segs[i].Until.IsZero() || ti.Before(segs[i].Until)) {
					seg = &segs[i]
				}
			}
			if seg == nil || seg.Availability != p.Availability || seg.StatusText != p.StatusText || !seg.Until.Equal(p.Until) {
				t.Fatalf("round %d: at %s Evaluate %+v disagrees with timeline segment %+v", round, ti, p, seg)
			}
		}
	}
}

func FuzzParseRulesJSON(f *testing.F) {
	f.Add(`[{"name":"a","match":{"subject":"x"},"profile":"p","status_text":"{{until}}"}]`)
	f.Add(`{"merge_gap_minutes":5,"rules":[{"ignore":true,"match":{"free_busy":["free"]}}]}`)
	f.Add(`{"language":"de","automatic_replies":{"status_text":"{{if .Until}}x{{end}}"}}`)
	f.Add(`[{"profile":"p","status_text":"{{range .}}{{end}}"}]`)
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := ParseRulesJSON([]byte(doc))
		if err != nil {
			return
		}
		// A rule set that compiles must evaluate without panicking.
		occ := []calendar.Occurrence{{ItemID: "x", Subject: "x", Start: at("2025-11-24 09:00"), End: at("2025-11-24 10:00"), FreeBusy: calendar.Busy}}
		Timeline(Input{User: "u", Occurrences: occ, Trusted: true}, c, at("2025-11-24 00:00"), at("2025-11-25 00:00"))
	})
}
