package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func getUserAvailabilityError(err error) any {
	r := &ewswire.GetUserAvailabilityResponse{}
	m := responseFor(err)
	r.FreeBusyResponseArray.FreeBusyResponse = []ewswire.FreeBusyResponse{{ResponseMessage: &m}}
	return r
}

// getUserAvailability serves m:GetUserAvailabilityRequest: times in the
// request's legacy time zone, one FreeBusyResponse per mailbox.
func (h *Handler) getUserAvailability(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetUserAvailabilityRequest)
	if h.avail == nil {
		return nil, notSupported("GetUserAvailability")
	}
	if req.FreeBusyViewOptions == nil {
		return nil, Fail(ews.ErrorInvalidOperation, "The simulator answers free/busy requests only (FreeBusyViewOptions missing).")
	}
	zone := legacyZone{tz: ews.UTCLegacyTimeZone()}
	if req.TimeZone != nil {
		zone = legacyZone{tz: req.TimeZone.ToEWS()}
	}
	o := req.FreeBusyViewOptions
	ar := AvailabilityRequest{Start: zone.toUTC(o.TimeWindow.StartTime.Time), End: zone.toUTC(o.TimeWindow.EndTime.Time),
		IntervalMinutes: o.MergedFreeBusyIntervalInMinutes, View: ews.FreeBusyViewType(o.RequestedView), RequestedVersion: c.RequestVersion}
	for _, m := range req.MailboxDataArray.MailboxData {
		ar.Mailboxes = append(ar.Mailboxes, m.Email.Address)
	}
	results, err := h.avail.GetUserAvailability(ctx, c, ar)
	if err != nil {
		return nil, err
	}
	resp := &ewswire.GetUserAvailabilityResponse{}
	for _, res := range results {
		var fr ewswire.FreeBusyResponse
		if res.Err != nil {
			m := responseFor(res.Err)
			fr.ResponseMessage = &m
		} else {
			m := ewswire.Success()
			fr.ResponseMessage = &m
			v := res.View
			for i := range v.CalendarEvents {
				v.CalendarEvents[i].StartTime = zone.toLocal(v.CalendarEvents[i].StartTime)
				v.CalendarEvents[i].EndTime = zone.toLocal(v.CalendarEvents[i].EndTime)
			}
			fr.FreeBusyView = ewswire.FreeBusyViewFrom(v)
		}
		resp.FreeBusyResponseArray.FreeBusyResponse = append(resp.FreeBusyResponseArray.FreeBusyResponse, fr)
	}
	return resp, nil
}
