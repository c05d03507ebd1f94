package ewssim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

// generatorZones are the Windows time zones generated mailboxes live in.
var generatorZones = []string{
	"W. Europe Standard Time", "GMT Standard Time", "Eastern Standard Time",
	"Pacific Standard Time", "India Standard Time", "Tokyo Standard Time",
}

// GenerateOptions controls the seeded calendar generator.
type GenerateOptions struct {
	// Seed makes the calendars reproducible (same seed, same calendars for
	// the same clock start).
	Seed uint64
	// Around is the reference instant (default: the clock's now).
	Around time.Time
}

// Generate fills every user mailbox (not the service account) with a
// reproducible calendar around now: a weekly team meeting shared by every
// five consecutive users (same UID, one moved occurrence, one tentative
// attendee), a daily stand-up with a moved and a
// deleted occurrence, a weekly 1:1 (numbered), a monthly review (relative,
// with end date), a quarterly absolute-monthly planning, a yearly
// all-day event, one-offs (busy, tentative, private, working elsewhere, a
// cancelled meeting), an all-day conference and an OOF block, each mailbox
// in one of several time zones.
func (s *Simulator) Generate(o GenerateOptions) error {
	around := o.Around
	if around.IsZero() {
		around = s.clock.Now()
	}
	var users []string
	index := map[string]int{}
	for i, addr := range s.Mailboxes() {
		index[addr] = i
		if addr == s.ServiceAccount() {
			continue
		}
		users = append(users, addr)
		rng := rand.New(rand.NewPCG(o.Seed, uint64(i)*0x9e3779b97f4a7c15+1))
		if err := s.generateMailbox(addr, rng, around); err != nil {
			return fmt.Errorf("ewssim: generate %s: %w", addr, err)
		}
	}
	for t := 0; t*teamSize < len(users); t++ {
		team := users[t*teamSize : min((t+1)*teamSize, len(users))]
		if len(team) < 2 {
			break
		}
		rng := rand.New(rand.NewPCG(o.Seed^0x7eadbeef, uint64(t)+1))
		if err := s.generateTeamMeeting(team, index[team[0]], rng, around); err != nil {
			return fmt.Errorf("ewssim: generate team meeting: %w", err)
		}
	}
	return nil
}

// teamSize is how many consecutive users share a generated team meeting.
const teamSize = 5

// generateTeamMeeting puts one weekly meeting into the calendars of a team:
// the organizer's copy and the attendees' copies share the UID and one
// moved occurrence, one attendee answered Tentative.
func (s *Simulator) generateTeamMeeting(team []string, organizerIndex int, rng *rand.Rand, around time.Time) error {
	tzID, loc, err := s.TimeZone(team[0])
	if err != nil {
		return err
	}
	organizerName, err := s.DisplayName(team[0])
	if err != nil {
		return err
	}
	local := around.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -28)
	start := day.Add(time.Duration(13+rng.IntN(4)) * time.Hour)
	weekday := []ews.DayOfWeek{ews.Monday, ews.Tuesday, ews.Wednesday, ews.Thursday, ews.Friday}[rng.IntN(5)]
	var attendees []ews.Attendee
	for _, m := range team[1:] {
		name, err := s.DisplayName(m)
		if err != nil {
			return err
		}
		attendees = append(attendees, ews.Attendee{Mailbox: ews.Mailbox{Name: name, EmailAddress: m, RoutingType: "SMTP", MailboxType: "Mailbox"}, ResponseType: ews.ResponseAccept})
	}
	tentative := 1 + rng.IntN(len(team)-1)
	attendees[tentative-1].ResponseType = ews.ResponseTentative
	uid := fmt.Sprintf("040000008200E00074C5B7101A82E008TEAM%08X", organizerIndex)
	moveIdx := 4 + rng.IntN(2)
	for i, m := range team {
		c := ews.CalendarItem{Subject: "Team sync", Location: "Team room", UID: uid, IsMeeting: true, StartTimeZone: tzID,
			Start: start, End: start.Add(45 * time.Minute), RequiredAttendees: attendees,
			Organizer: &ews.Mailbox{Name: organizerName, EmailAddress: team[0], RoutingType: "SMTP", MailboxType: "Mailbox"},
			Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{weekday}},
				Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: ews.DateOf(day)}}}
		switch {
		case i == 0:
			c.MyResponseType = ews.ResponseOrganizer
		case i == tentative:
			c.MyResponseType, c.LegacyFreeBusyStatus = ews.ResponseTentative, ews.FreeBusyTentative
		default:
			c.MyResponseType = ews.ResponseAccept
		}
		id, err := s.AddCalendarItem(m, c)
		if err != nil {
			return err
		}
		if err := s.moveOccurrence(m, id.Id, c, loc, moveIdx, 2*time.Hour, "Team sync (moved)"); err != nil {
			return err
		}
	}
	return nil
}

// moveOccurrence turns occurrence index of a generated series into an
// exception moved by shift and renamed.
func (s *Simulator) moveOccurrence(smtp, masterID string, c ews.CalendarItem, loc *time.Location, index int, shift time.Duration, subject string) error {
	in, ok, err := ewsserver.InstanceAt(c.Recurrence, c.Start, c.End.Sub(c.Start), c.IsAllDayEvent, loc, index)
	if err != nil || !ok {
		return err
	}
	start, end := in.Start.Add(shift).UTC(), in.End.Add(shift).UTC()
	_, err = s.UpdateCalendarItem(smtp, ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: masterID, InstanceIndex: index}},
		ewsmem.ItemChange{Subject: &subject, Start: &start, End: &end})
	return err
}

func (s *Simulator) generateMailbox(smtp string, rng *rand.Rand, around time.Time) error {
	tzID, err := s.SetTimeZone(smtp, generatorZones[rng.IntN(len(generatorZones))])
	if err != nil {
		return err
	}
	_, loc, err := s.TimeZone(smtp)
	if err != nil {
		return err
	}
	local := around.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	at := func(days, hour, minute int) time.Time {
		return day.AddDate(0, 0, days).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
	}
	weekdays := []ews.DayOfWeek{ews.Monday, ews.Tuesday, ews.Wednesday, ews.Thursday, ews.Friday}
	add := func(c ews.CalendarItem) (ews.ItemId, error) {
		c.StartTimeZone = tzID
		return s.AddCalendarItem(smtp, c)
	}
	standupHour := 8 + rng.IntN(3)
	standup := ews.CalendarItem{Subject: "Team stand-up", Location: "Room " + fmt.Sprint(100+rng.IntN(50)),
		Start: at(-45, standupHour, 30), End: at(-45, standupHour, 45), IsMeeting: true, LegacyFreeBusyStatus: ews.FreeBusyBusy,
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: weekdays, FirstDayOfWeek: ews.Monday},
			Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: ews.DateOf(at(-45, 0, 0))}}}
	standupID, err := add(standup)
	if err != nil {
		return err
	}
	// One moved occurrence (exception) and one deleted, near now.
	n := len(weekdays) * 9 // ~45 days of weekdays
	moveIdx, delIdx := n+1+rng.IntN(3), n+4+rng.IntN(3)
	if err := s.moveOccurrence(smtp, standupID.Id, standup, loc, moveIdx, time.Hour, "Team stand-up (moved)"); err != nil {
		return err
	}
	if err := s.DeleteCalendarItem(smtp, ews.ItemRef{Occurrence: &ews.OccurrenceItemId{RecurringMasterId: standupID.Id, InstanceIndex: delIdx}}); err != nil {
		return err
	}

	if _, err := add(ews.CalendarItem{Subject: "1:1 with manager", Start: at(-14, 14, 0), End: at(-14, 14, 30), IsMeeting: true,
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternWeekly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Tuesday}},
			Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.DateOf(at(-14, 0, 0)), NumberOfOccurrences: 20}}}); err != nil {
		return err
	}
	if _, err := add(ews.CalendarItem{Subject: "Monthly review", Start: at(-60, 10, 0), End: at(-60, 11, 30), IsMeeting: true,
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternRelativeMonthly, Interval: 1, DaysOfWeek: []ews.DayOfWeek{ews.Monday}, DayOfWeekIndex: ews.IndexFirst},
			Range: ews.RecurrenceRange{Kind: ews.RangeEndDate, StartDate: ews.DateOf(at(-60, 0, 0)), EndDate: ews.DateOf(at(300, 0, 0))}}}); err != nil {
		return err
	}
	if _, err := add(ews.CalendarItem{Subject: "Quarterly planning", Start: at(-30, 13, 0), End: at(-30, 16, 0), IsMeeting: true, LegacyFreeBusyStatus: ews.FreeBusyTentative,
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternAbsoluteMonthly, Interval: 3, DayOfMonth: 15},
			Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: ews.DateOf(at(-30, 0, 0))}}}); err != nil {
		return err
	}
	bday := at(rng.IntN(300)-150, 0, 0)
	if _, err := add(ews.CalendarItem{Subject: "Birthday", Start: bday, End: bday.AddDate(0, 0, 1), IsAllDayEvent: true, LegacyFreeBusyStatus: ews.FreeBusyFree,
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternAbsoluteYearly, DayOfMonth: bday.Day(), Month: bday.Month()},
			Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: ews.DateOf(bday.AddDate(-1, 0, 0))}}}); err != nil {
		return err
	}
	if _, err := add(ews.CalendarItem{Subject: "Company all-hands", Start: at(-200, 16, 0), End: at(-200, 17, 0), IsMeeting: true,
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternRelativeYearly, DaysOfWeek: []ews.DayOfWeek{ews.Weekday}, DayOfWeekIndex: ews.IndexLast, Month: time.Month(1 + rng.IntN(12))},
			Range: ews.RecurrenceRange{Kind: ews.RangeNoEnd, StartDate: ews.DateOf(at(-400, 0, 0))}}}); err != nil {
		return err
	}
	if _, err := add(ews.CalendarItem{Subject: "Focus time", Start: at(-3, 15, 0), End: at(-3, 17, 0), LegacyFreeBusyStatus: ews.FreeBusyBusy,
		Recurrence: &ews.Recurrence{Pattern: ews.RecurrencePattern{Kind: ews.PatternDaily, Interval: 2},
			Range: ews.RecurrenceRange{Kind: ews.RangeNumbered, StartDate: ews.DateOf(at(-3, 0, 0)), NumberOfOccurrences: 10}}}); err != nil {
		return err
	}
	oneOffs := []struct {
		subject string
		fb      ews.FreeBusyStatus
		sens    ews.Sensitivity
		meeting bool
		cancel  bool
	}{
		{"Customer call", ews.FreeBusyBusy, ews.SensitivityNormal, true, false},
		{"Doctor appointment", ews.FreeBusyOOF, ews.SensitivityPrivate, false, false},
		{"Design workshop", ews.FreeBusyTentative, ews.SensitivityNormal, true, false},
		{"Working from the lab", ews.FreeBusyWorkingElsewhere, ews.SensitivityNormal, false, false},
		{"Budget meeting", ews.FreeBusyBusy, ews.SensitivityConfidential, true, false},
		{"Vendor demo", ews.FreeBusyBusy, ews.SensitivityNormal, true, true},
	}
	for i, o := range oneOffs {
		d := rng.IntN(10) - 2
		h := 9 + rng.IntN(8)
		dur := 30 * (1 + rng.IntN(4))
		start := at(d, h, 0)
		if _, err := add(ews.CalendarItem{Subject: o.subject, Location: fmt.Sprintf("Building %d", 1+i%3), Start: start, End: start.Add(time.Duration(dur) * time.Minute),
			LegacyFreeBusyStatus: o.fb, Sensitivity: o.sens, IsMeeting: o.meeting, IsCancelled: o.cancel}); err != nil {
			return err
		}
	}
	conf := rng.IntN(20) + 3
	if _, err := add(ews.CalendarItem{Subject: "Conference", Start: at(conf, 0, 0), End: at(conf+2, 0, 0), IsAllDayEvent: true, LegacyFreeBusyStatus: ews.FreeBusyOOF}); err != nil {
		return err
	}
	vac := rng.IntN(30) + 10
	if _, err := add(ews.CalendarItem{Subject: "Vacation", Start: at(vac, 0, 0), End: at(vac+5, 0, 0), IsAllDayEvent: true, LegacyFreeBusyStatus: ews.FreeBusyOOF, Sensitivity: ews.SensitivityPersonal}); err != nil {
		return err
	}
	if rng.IntN(4) == 0 {
		return s.SetOOF(smtp, ews.OofSettings{State: ews.OofScheduled, ExternalAudience: ews.AudienceAll, Start: at(vac, 0, 0).UTC(), End: at(vac+5, 0, 0).UTC(),
			InternalReply: "I am on vacation.", ExternalReply: "I am out of the office."})
	}
	return nil
}
