package presence

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/internal/clock"
)

// benchCalendar returns a fortnight of a busy user's calendar starting at
// day: 4 meetings a day (two back-to-back), a tentative item, an all-day
// item every Monday, a private appointment.
func benchCalendar(user int, day time.Time) []calendar.Occurrence {
	var occ []calendar.Occurrence
	add := func(id string, s time.Time, d time.Duration, o calendar.Occurrence) {
		o.ItemID, o.Start, o.End = fmt.Sprintf("%d-%s", user, id), s, s.Add(d)
		if o.FreeBusy == "" {
			o.FreeBusy = calendar.Busy
		}
		occ = append(occ, o)
	}
	for i := range 14 {
		d := day.AddDate(0, 0, i)
		off := time.Duration(user%8) * 15 * time.Minute
		add(fmt.Sprint("a", i), d.Add(9*time.Hour+off), 30*time.Minute, calendar.Occurrence{IsMeeting: true, Response: calendar.ResponseAccept, Subject: "Stand-up"})
		add(fmt.Sprint("b", i), d.Add(9*time.Hour+30*time.Minute+off), 30*time.Minute, calendar.Occurrence{IsMeeting: true, Response: calendar.ResponseAccept})
		add(fmt.Sprint("c", i), d.Add(11*time.Hour), time.Hour, calendar.Occurrence{FreeBusy: calendar.Tentative})
		add(fmt.Sprint("d", i), d.Add(14*time.Hour+off), 90*time.Minute, calendar.Occurrence{IsMeeting: true, Response: calendar.ResponseNoResponse})
		add(fmt.Sprint("e", i), d.Add(16*time.Hour), time.Hour, calendar.Occurrence{Sensitivity: calendar.Private, Subject: "Doctor"})
		if d.Weekday() == time.Monday {
			add(fmt.Sprint("f", i), d, 24*time.Hour, calendar.Occurrence{AllDay: true, FreeBusy: calendar.WorkingElsewhere})
		}
	}
	return occ
}

// BenchmarkEvaluate measures one user's full plan (70 occurrences over 14
// days) and the presence at one instant.
func BenchmarkEvaluate(b *testing.B) {
	rules := mustCompile(b, RuleSet{Options: Options{MergeGapMinutes: 5}})
	day := at("2025-11-24 00:00")
	in := Input{User: "u", Occurrences: benchCalendar(1, day), Trusted: true, Location: berlin}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in, rules, day.Add(33*time.Hour))
	}
}

func newBenchScheduler(b *testing.B, c clock.Clock, users int, day time.Time) (*Scheduler, *fakeSource) {
	b.Helper()
	src := newFakeSource()
	for i := range users {
		src.set(fmt.Sprintf("user%05d@example.com", i), benchCalendar(i, day), calendar.OOFSettings{}, true)
	}
	s, err := NewScheduler(SchedulerOptions{Clock: c, Rules: mustCompile(b, RuleSet{}), Source: src})
	if err != nil {
		b.Fatal(err)
	}
	return s, src
}

// BenchmarkReplan10000Users re-plans every user (as after a rule change):
// load from the Source, evaluate 14 days, schedule. One op = 10,000 users.
func BenchmarkReplan10000Users(b *testing.B) {
	day := at("2025-11-24 00:00")
	c := clock.NewFake(day.Add(8 * time.Hour))
	s, _ := newBenchScheduler(b, c, 10000, day)
	ctx := context.Background()
	users, _ := s.source.Users(ctx)
	b.ReportAllocs()
	for b.Loop() {
		s.mu.Lock()
		for _, u := range users {
			s.ensureLocked(u).needLoad = true
			s.dirty[u] = struct{}{}
		}
		s.mu.Unlock()
		s.loadDirty(ctx)
		s.fireDue(ctx)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/user")
}

// BenchmarkTransition10000Users measures firing one due transition while
// 10,000 users are planned (heap pop/fix, presence lookup, publish).
func BenchmarkTransition10000Users(b *testing.B) {
	day := at("2025-11-24 00:00")
	c := clock.NewFake(day.Add(8 * time.Hour))
	s, _ := newBenchScheduler(b, c, 10000, day)
	ctx := context.Background()
	users, _ := s.source.Users(ctx)
	s.mu.Lock()
	for _, u := range users {
		s.ensureLocked(u)
	}
	s.mu.Unlock()
	s.loadDirty(ctx)
	s.fireDue(ctx)
	b.ReportAllocs()
	for b.Loop() {
		// Make the earliest user due again and fire it.
		s.mu.Lock()
		st := s.wakes[0]
		s.scheduleLocked(st, c.Now())
		s.mu.Unlock()
		s.fireDue(ctx)
	}
}
