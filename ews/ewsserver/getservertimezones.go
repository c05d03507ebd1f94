package ewsserver

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func getServerTimeZonesError(err error) any {
	r := &ewswire.GetServerTimeZonesResponse{}
	r.ResponseMessages.Messages = []ewswire.GetServerTimeZonesResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// getServerTimeZones serves m:GetServerTimeZones from the Windows zones
// LoadWindowsZone knows, describing each by the rules in force this year.
func (h *Handler) getServerTimeZones(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetServerTimeZones)
	var ids []string
	if req.Ids != nil {
		ids = req.Ids.Id
	}
	if len(ids) == 0 {
		ids = WindowsZoneIDs()
		sort.Strings(ids)
	}
	year := h.opts.Clock.Now().Year()
	m := ewswire.GetServerTimeZonesResponseMessage{ResponseMessage: ewswire.Success()}
	for _, id := range ids {
		loc, err := LoadWindowsZone(id)
		if err != nil {
			return nil, Failf(ews.ErrorTimeZone, "Unknown time zone %q.", id)
		}
		m.TimeZoneDefinitions.TimeZoneDefinition = append(m.TimeZoneDefinitions.TimeZoneDefinition, zoneDefinition(id, loc, year))
	}
	resp := &ewswire.GetServerTimeZonesResponse{}
	resp.ResponseMessages.Messages = []ewswire.GetServerTimeZonesResponseMessage{m}
	return resp, nil
}

// zoneDefinition describes loc in year as periods and yearly transitions.
func zoneDefinition(id string, loc *time.Location, year int) ewswire.FullTimeZoneDefinition {
	d := ewswire.FullTimeZoneDefinition{Id: id, Name: id}
	d.Periods = &struct {
		Period []ewswire.TZPeriod `xml:"http://schemas.microsoft.com/exchange/services/2006/types Period"`
	}{}
	d.TransitionsGroups = &struct {
		TransitionsGroup []ewswire.TZTransitionsGroup `xml:"http://schemas.microsoft.com/exchange/services/2006/types TransitionsGroup"`
	}{}
	d.Transitions = &struct {
		Transition []ewswire.TZTransition `xml:"http://schemas.microsoft.com/exchange/services/2006/types Transition"`
	}{Transition: []ewswire.TZTransition{{To: ewswire.TZTo{Kind: "Group", Value: "0"}}}}
	changes := offsetChanges(loc, year)
	jan := time.Date(year, 1, 1, 12, 0, 0, 0, loc)
	_, janOff := jan.Zone()
	_, julOff := time.Date(year, 7, 1, 12, 0, 0, 0, loc).Zone()
	stdOff := min(janOff, julOff)
	group := ewswire.TZTransitionsGroup{Id: "0"}
	if len(changes) != 2 || janOff == julOff {
		_, off := jan.Zone()
		d.Periods.Period = []ewswire.TZPeriod{{Bias: duration(-off), Name: "Standard", Id: "Std"}}
		group.Transition = []ewswire.TZTransition{{To: ewswire.TZTo{Kind: "Period", Value: "Std"}}}
		d.TransitionsGroups.TransitionsGroup = []ewswire.TZTransitionsGroup{group}
		return d
	}
	dstOff := max(janOff, julOff)
	d.Periods.Period = []ewswire.TZPeriod{{Bias: duration(-stdOff), Name: "Standard", Id: "Std"}, {Bias: duration(-dstOff), Name: "Daylight", Id: "Dlt"}}
	for _, ch := range changes {
		// The rule is given in the local time before the change.
		b := ch.Add(-time.Second).In(loc)
		wall := time.Date(b.Year(), b.Month(), b.Day(), b.Hour(), b.Minute(), b.Second(), 0, time.UTC).Add(time.Second)
		occurrence := (wall.Day()-1)/7 + 1
		if wall.Day()+7 > daysIn(wall.Year(), wall.Month()) {
			occurrence = -1
		}
		_, newOff := ch.In(loc).Zone()
		target := "Std"
		if newOff == dstOff {
			target = "Dlt"
		}
		offset := time.Duration(wall.Hour())*time.Hour + time.Duration(wall.Minute())*time.Minute
		group.RecurringDayTransition = append(group.RecurringDayTransition, ewswire.TZRecurringDayTransition{
			To: ewswire.TZTo{Kind: "Period", Value: target}, TimeOffset: duration(int(offset / time.Second)),
			Month: int(wall.Month()), DayOfWeek: wall.Weekday().String(), Occurrence: occurrence})
	}
	d.TransitionsGroups.TransitionsGroup = []ewswire.TZTransitionsGroup{group}
	return d
}

// offsetChanges returns the instants in year at which loc's offset changes.
func offsetChanges(loc *time.Location, year int) []time.Time {
	var out []time.Time
	t := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	_, prev := t.Zone()
	for t.Before(end) && len(out) < 4 {
		next := t.Add(time.Hour)
		if _, off := next.Zone(); off != prev {
			// Narrow down to the minute.
			lo := t
			for lo.Add(time.Minute).Before(next) {
				mid := lo.Add(time.Minute)
				if _, o := mid.Zone(); o != prev {
					break
				}
				lo = mid
			}
			out = append(out, lo.Add(time.Minute))
			prev = off
		}
		t = next
	}
	return out
}

// duration formats seconds as an xs:duration ("-PT60M").
func duration(seconds int) string {
	sign := ""
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	return fmt.Sprintf("%sPT%dM", sign, seconds/60)
}
