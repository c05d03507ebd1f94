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
	// Only the working hours are wanted: any short window will do.
	now := time.Now().UTC().Truncate(time.Hour)
	res, err := x.c.GetUserAvailability(ctx, call, ewsclient.AvailabilityRequest{
		Mailboxes: []ews.MailboxData{{Email: ews.Mailbox{EmailAddress: smtp}, AttendeeType: ews.AttendeeRequired}},
		Start:     now, End: now.Add(24 * time.Hour), View: ews.ViewFreeBusy,
	})
	if err != nil {
		return "", classify("GetUserAvailability", err)
	}
	if len(res) != 1 || res[0].Err != nil || res[0].View.WorkingHours == nil {
		return "", nil // no working hours: the zone stays unknown
	}
	name, _ := calendar.MatchLegacyZone(legacyZone(res[0].View.WorkingHours.TimeZone), now.Year())
	return name, nil
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
