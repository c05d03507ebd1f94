package ewsmem

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// freeBusyRank orders statuses for MergedFreeBusy ("highest wins").
var freeBusyRank = map[ews.FreeBusyStatus]int{
	ews.FreeBusyFree: 0, ews.FreeBusyTentative: 1, ews.FreeBusyBusy: 2, ews.FreeBusyOOF: 3, ews.FreeBusyWorkingElsewhere: 4,
}

// GetUserAvailability implements ewsserver.BackendAvailability: per-user
// free/busy with Exchange's request limits.
func (x *Exchange) GetUserAvailability(ctx context.Context, c *ewsserver.Caller, req ewsserver.AvailabilityRequest) ([]ewsserver.AvailabilityResult, error) {
	if len(req.Mailboxes) > ews.MaxAvailabilityMailboxes {
		return nil, ewsserver.Fail(ews.ErrorMailboxDataArrayTooBig, "Too many mailboxes requested: at most 100.")
	}
	if !req.End.After(req.Start) {
		return nil, ewsserver.Fail(ews.ErrorInvalidTimeInterval, "The time interval is invalid.")
	}
	if req.End.Sub(req.Start) > x.opts.AvailabilityWindow {
		return nil, ewsserver.Fail(ews.ErrorTimeIntervalTooBig, "The time window is too big.")
	}
	interval := req.IntervalMinutes
	if interval == 0 {
		interval = 30
	}
	if interval < 5 || interval > 1440 || time.Duration(interval)*time.Minute > req.End.Sub(req.Start) {
		return nil, ewsserver.Fail(ews.ErrorInvalidMergedFreeBusyInterval, "The merged free/busy interval is invalid.")
	}
	view := req.View
	if view == "" {
		view = ews.ViewDetailed
	}
	out := make([]ewsserver.AvailabilityResult, len(req.Mailboxes))
	for i, addr := range req.Mailboxes {
		mb, ok := x.mailbox(strings.ToLower(addr))
		if !ok {
			out[i].Err = ewsserver.Fail(ews.ErrorMailRecipientNotFound, "Unable to resolve e-mail address "+addr+" to an Active Directory object.")
			continue
		}
		mb.mu.Lock()
		items := mb.instancesBetween(req.Start, req.End)
		zone := mb.timeZone
		mb.mu.Unlock()
		fv := ews.FreeBusyView{ViewType: view}
		detailed := view == ews.ViewDetailed || view == ews.ViewDetailedMerged
		for _, it := range items {
			// The CalendarView rule keeps items ending at the window start;
			// they take no time of it.
			if it.IsCancelled || it.LegacyFreeBusyStatus == ews.FreeBusyFree || it.Start.Before(req.Start) && !it.End.After(req.Start) {
				continue
			}
			status := it.LegacyFreeBusyStatus
			if status == ews.FreeBusyWorkingElsewhere && !req.RequestedVersion.AtLeast2013() {
				status = ews.FreeBusyFree
			}
			ev := ews.CalendarEvent{StartTime: it.Start, EndTime: it.End, BusyType: status}
			if detailed {
				private := it.Sensitivity == ews.SensitivityPrivate || it.Sensitivity == ews.SensitivityConfidential
				d := &ews.CalendarEventDetails{ID: it.ItemId.Id, IsMeeting: it.IsMeeting, IsRecurring: it.IsRecurring,
					IsException: it.CalendarItemType == ews.ItemTypeException, IsPrivate: private}
				if !private {
					d.Subject, d.Location = it.Subject, it.Location
				}
				ev.Details = d
			}
			if view != ews.ViewMergedOnly {
				fv.CalendarEvents = append(fv.CalendarEvents, ev)
			}
		}
		if view == ews.ViewMergedOnly || view == ews.ViewFreeBusyMerged || view == ews.ViewDetailedMerged {
			fv.MergedFreeBusy = merged(items, req.Start, req.End, time.Duration(interval)*time.Minute, req.RequestedVersion)
		}
		// Working hours are in the mailbox's own zone, as Exchange keeps them.
		fv.WorkingHours = &ews.WorkingHours{TimeZone: workingZone(zone, req.Start), Periods: []ews.WorkingPeriod{{
			DaysOfWeek:         []ews.DayOfWeek{ews.Monday, ews.Tuesday, ews.Wednesday, ews.Thursday, ews.Friday},
			StartTimeInMinutes: 8 * 60, EndTimeInMinutes: 17 * 60}}}
		out[i].View = fv
	}
	return out, nil
}

// merged computes MergedFreeBusy: one digit per interval, highest wins.
func merged(items []ews.CalendarItem, from, to time.Time, step time.Duration, v ews.ExchangeVersion) string {
	var b strings.Builder
	for t := from; t.Before(to); t = t.Add(step) {
		end := t.Add(step)
		best := -1
		for _, it := range items {
			if it.IsCancelled || !ewsserver.Intersects(it.Start, it.End, t, end) || it.Start.Equal(it.End) {
				continue
			}
			r, ok := freeBusyRank[it.LegacyFreeBusyStatus]
			if !ok {
				continue
			}
			if r == 4 && !v.AtLeast2013() {
				r = 0
			}
			best = max(best, r)
		}
		if best < 0 {
			best = 0
		}
		b.WriteByte(byte('0' + best))
	}
	return b.String()
}

// GetUserSettings implements ewsserver.BackendAutodiscover.
func (x *Exchange) GetUserSettings(ctx context.Context, c *ewsserver.Caller, baseURL string, users []string, settings []string) ([]ewsserver.UserSettings, error) {
	x.stats.autodiscoverRequest()
	if len(users) > 90 {
		return nil, ewsserver.Fail(ews.ErrorInvalidRequest, "Too many users: at most 90 per request.")
	}
	if x.opts.ExternalURL != "" {
		baseURL = x.opts.ExternalURL
	}
	out := make([]ewsserver.UserSettings, len(users))
	for i, u := range users {
		out[i].Mailbox = u
		mb, ok := x.mailbox(u)
		if !ok {
			out[i].ErrorCode, out[i].Message = "InvalidUser", "Invalid user: '"+u+"'"
			continue
		}
		mb.mu.Lock()
		server := mb.server
		mb.mu.Unlock()
		all := map[string]string{
			"UserDisplayName":       mb.name,
			"UserDN":                "/o=Simulated/ou=Exchange Administrative Group/cn=Recipients/cn=" + mb.smtp,
			"InternalEwsUrl":        baseURL + "/EWS/Exchange.asmx",
			"ExternalEwsUrl":        baseURL + "/EWS/Exchange.asmx",
			"GroupingInformation":   "Site-" + x.servers[server],
			"InternalMailboxServer": x.servers[server],
			"CasVersion":            "15.01.2507.039",
			"EwsSupportedSchemas":   "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1",
		}
		out[i].ErrorCode = "NoError"
		out[i].Settings = map[string]string{}
		for _, s := range settings {
			if v, ok := all[s]; ok {
				out[i].Settings[s] = v
			}
		}
	}
	return out, nil
}

// workingZone is the t:TimeZone of a mailbox's working hours: its own zone
// (UTC when none is set) with the rules of the year the request starts in.
func workingZone(windowsID string, at time.Time) ews.LegacyTimeZone {
	_, loc, err := zoneOf(windowsID)
	if err != nil || windowsID == "" {
		return ews.UTCLegacyTimeZone()
	}
	key := workingZoneKey{windowsID, at.In(loc).Year()}
	if z, ok := workingZones.Load(key); ok {
		return z.(ews.LegacyTimeZone)
	}
	// Deriving the rules scans the year's offsets: with 100 mailboxes per
	// request (a first load asking the zones of all) that was most of the
	// request's time, for a handful of distinct zones.
	z := ewsserver.LegacyZone(loc, key.year)
	workingZones.Store(key, z)
	return z
}

type workingZoneKey struct {
	windowsID string
	year      int
}

// workingZones caches workingZone's answers: zones and years are few.
var workingZones sync.Map
