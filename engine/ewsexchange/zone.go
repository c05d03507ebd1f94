package ewsexchange

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

var _ engine.ZoneReader = (*Client)(nil)

// MailboxTimeZone implements engine.ZoneReader: the "timezone" entry of
// the mailbox's OWA.UserOptions (its regional settings, a Windows zone
// name), else the zone of its working hours (GetUserAvailability: bias and
// rules without a name, matched to an IANA zone), else "".
func (x *Client) MailboxTimeZone(ctx context.Context, t engine.Target) (string, error) {
	call := x.call(engine.Target{SMTP: t.SMTP, EWSURL: t.EWSURL})
	entries, err := x.c.GetUserConfigurationStrings(ctx, call, ews.OWAUserOptions)
	if err == nil {
		if loc, lerr := calendar.LoadZone(entries["timezone"]); lerr == nil {
			return loc.String(), nil
		}
	} else if !noUserOptions(err) {
		return "", classify("GetUserConfiguration", err)
	}
	return x.workingHoursZone(ctx, call, t.SMTP)
}

// noUserOptions reports whether err says the regional settings cannot be
// had this way, so that the working hours are asked instead: the mailbox
// never saved them (ErrorItemNotFound), the account may not read them, or
// the server does not know the operation (ErrorInvalidRequest or
// ErrorInvalidOperation).
func noUserOptions(err error) bool {
	var re *ews.ResponseError
	if errors.As(err, &re) {
		return true
	}
	var f *ews.SOAPFault
	return errors.As(err, &f) && (f.Code == ews.ErrorInvalidRequest || f.Code == ews.ErrorInvalidOperation)
}

// workingHoursZone asks free/busy for one day to get the mailbox's working
// hours and matches their zone.
func (x *Client) workingHoursZone(ctx context.Context, call ewsclient.Call, smtp string) (string, error) {
	res, err := x.workingHoursZones(ctx, call, []string{smtp})
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", nil // no working hours for us: the zone stays unknown
	}
	return res[0].Zone, nil
}

var _ engine.ZoneBatchReader = (*Client)(nil)

// MailboxTimeZones implements engine.ZoneBatchReader: the zones of the
// mailboxes' working hours, up to ews.MaxAvailabilityMailboxes in one
// GetUserAvailability request, impersonating the first mailbox (free/busy
// and working hours of colleagues are what every mailbox may see by
// default; one whose calendar hides them answers an error of its own, in
// its place, and its worker reads its zone alone).
func (x *Client) MailboxTimeZones(ctx context.Context, smtps []string) ([]engine.ZoneResult, error) {
	if len(smtps) == 0 {
		return nil, nil
	}
	return x.workingHoursZones(ctx, x.call(engine.Target{SMTP: smtps[0]}), smtps)
}

// workingHoursZones asks free/busy for one day of each mailbox, only for
// their working hours, and matches each one's zone to an IANA zone ("" when
// a mailbox has no working hours or none matches).
func (x *Client) workingHoursZones(ctx context.Context, call ewsclient.Call, smtps []string) ([]engine.ZoneResult, error) {
	// Only the working hours are wanted: any short window will do. It
	// starts at the engine's now, and the rules are matched for the year
	// it starts in (UTC): the server derives the rules it answers for
	// the window, and a wall-clock year beside an engine's clock in
	// another year (tests, a replay) matched them against the wrong one.
	now := x.now().UTC().Truncate(time.Hour)
	mbs := make([]ews.MailboxData, len(smtps))
	for i, s := range smtps {
		mbs[i] = ews.MailboxData{Email: ews.Mailbox{EmailAddress: s}, AttendeeType: ews.AttendeeRequired}
	}
	res, err := x.c.GetUserAvailability(ctx, call, ewsclient.AvailabilityRequest{
		Mailboxes: mbs, Start: now, End: now.Add(24 * time.Hour), View: ews.ViewFreeBusy,
	})
	if err != nil {
		return nil, classify("GetUserAvailability", err)
	}
	out := make([]engine.ZoneResult, len(smtps))
	for i, r := range res {
		out[i].SMTP = smtps[i]
		switch {
		case r.Err != nil:
			out[i].Err = classify("GetUserAvailability", r.Err)
		case r.View.WorkingHours != nil:
			// A zone matching no IANA zone stays "" (unknown).
			out[i].Zone, _ = calendar.MatchLegacyZone(legacyZone(r.View.WorkingHours.TimeZone), now.Year())
		}
	}
	return out, nil
}

// legacyZone converts EWS's t:SerializableTimeZone.
func legacyZone(z ews.LegacyTimeZone) calendar.LegacyZone {
	rule := func(c ews.TimeChange) calendar.LegacyRule {
		r := calendar.LegacyRule{Bias: c.Bias, Month: time.Month(c.Month), DayOrder: c.DayOrder, Weekday: weekday(c.DayOfWeek)}
		if h, m, ok := strings.Cut(c.Time, ":"); ok {
			hh, _ := strconv.Atoi(h)
			mm, _ := strconv.Atoi(strings.SplitN(m, ":", 2)[0])
			r.At = time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute
		}
		return r
	}
	return calendar.LegacyZone{Bias: z.Bias, Standard: rule(z.Standard), Daylight: rule(z.Daylight)}
}

func weekday(d ews.DayOfWeek) time.Weekday {
	for i, n := range []ews.DayOfWeek{ews.Sunday, ews.Monday, ews.Tuesday, ews.Wednesday, ews.Thursday, ews.Friday, ews.Saturday} {
		if d == n {
			return time.Weekday(i)
		}
	}
	return time.Sunday
}
