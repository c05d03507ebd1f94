package ewswire

import "encoding/xml"

// decodeAvailabilityFast decodes a GetUserAvailability answer's free/busy
// views with the token scanner into the envelope DecodeEnvelope(…,
// Expect(resp)) gives, filling resp only when it succeeds. Every error
// means "decode the body with DecodeEnvelope" (see DecodeFindItemCalendar).
// The first load asks working hours (the mailbox's zone) 100 mailboxes at
// a time, and encoding/xml spent about as much CPU on those answers as the
// token decoder does on all the CalendarView pages.
func decodeAvailabilityFast(data []byte, lim Limits, resp *GetUserAvailabilityResponse) (*Envelope, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, ErrTooLarge
	}
	d := &fastAvailability{fastDecoder: fastDecoder{s: fastScanner{data: data, maxDepth: lim.MaxDepth}}}
	defer d.release()
	d.s.init()
	var seen fieldSet
	err := d.envelope("GetUserAvailabilityResponse", func() error {
		s := &d.s
		// Suggestions (not asked for) and unknown elements are skipped,
		// as encoding/xml skips elements no field names.
		if s.space != nsMessages || string(s.local) != "FreeBusyResponseArray" {
			return s.skip()
		}
		if err := seen.once(0); err != nil {
			return err
		}
		return d.list(nsMessages, "FreeBusyResponse", func() error {
			r, err := d.freeBusyResponse()
			d.out.FreeBusyResponseArray.FreeBusyResponse = append(d.out.FreeBusyResponseArray.FreeBusyResponse, r)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	name := xml.Name{Space: NSMessages, Local: "GetUserAvailabilityResponse"}
	*resp = d.out
	resp.XMLName = name
	return &Envelope{SOAP12: d.soap12, Header: Header{ServerVersionInfo: d.serverVersion}, BodyName: name, Body: resp}, nil
}

// fastAvailability decodes the free/busy views of one answer.
type fastAvailability struct {
	fastDecoder
	out GetUserAvailabilityResponse
}

func (d *fastAvailability) freeBusyResponse() (FreeBusyResponse, error) {
	var r FreeBusyResponse
	err := d.fields(nsMessages, freeBusyResponseFields, func(i int) error {
		if i == 0 {
			r.ResponseMessage = &ResponseMessage{}
			return d.responseMessage(r.ResponseMessage, func(string) (bool, error) { return false, nil })
		}
		r.FreeBusyView = &FreeBusyView{}
		return d.freeBusyView(r.FreeBusyView)
	})
	return r, err
}

// The elements each reader takes, by the index fields hands it.
var (
	freeBusyResponseFields = []string{"ResponseMessage", "FreeBusyView"}
	freeBusyViewFields     = []string{"FreeBusyViewType", "MergedFreeBusy", "CalendarEventArray", "WorkingHours"}
	calendarEventFields    = []string{"StartTime", "EndTime", "BusyType", "CalendarEventDetails"}
	workingHoursFields     = []string{"TimeZone", "WorkingPeriodArray"}
	timeZoneFields         = []string{"Bias", "StandardTime", "DaylightTime"}
	timeChangeFields       = []string{"Bias", "Time", "DayOrder", "Month", "DayOfWeek"}
	workingPeriodFields    = []string{"DayOfWeek", "StartTimeInMinutes", "EndTimeInMinutes"}
)

func (d *fastAvailability) freeBusyView(v *FreeBusyView) (err error) {
	return d.fields(nsTypes, freeBusyViewFields, func(i int) error {
		switch i {
		case 0:
			v.FreeBusyViewType, err = d.internText()
		case 1:
			v.MergedFreeBusy, err = d.str()
		case 2:
			v.CalendarEventArray = &CalendarEventArray{}
			err = d.list(nsTypes, "CalendarEvent", func() error {
				var e CalendarEvent
				err := d.calendarEvent(&e)
				v.CalendarEventArray.CalendarEvent = append(v.CalendarEventArray.CalendarEvent, e)
				return err
			})
		default:
			v.WorkingHours = &WorkingHours{}
			err = d.workingHours(v.WorkingHours)
		}
		return err
	})
}

func (d *fastAvailability) calendarEvent(e *CalendarEvent) (err error) {
	return d.fields(nsTypes, calendarEventFields, func(i int) error {
		switch i {
		case 0:
			e.StartTime, err = d.localDateTime()
		case 1:
			e.EndTime, err = d.localDateTime()
		case 2:
			e.BusyType, err = d.internText()
		default:
			// CalendarEventDetails: only the detailed views carry them,
			// and calsync asks FreeBusy.
			err = errNotFast
		}
		return err
	})
}

// localDateTime reads the current element as LocalDateTime.UnmarshalText
// would.
func (d *fastAvailability) localDateTime() (LocalDateTime, error) {
	b, buf, err := d.s.textOnly(d.buf)
	d.buf = buf
	if err != nil {
		return LocalDateTime{}, err
	}
	if t, ok := parseWallClock(trimXMLSpace(b)); ok {
		return LocalDateTime{Time: t}, nil
	}
	t, err := ParseDateTime(string(b))
	if err != nil {
		return LocalDateTime{}, errNotFast
	}
	return LocalDateTime{Time: t}, nil
}

func (d *fastAvailability) workingHours(w *WorkingHours) error {
	return d.fields(nsTypes, workingHoursFields, func(i int) error {
		if i == 0 {
			return d.timeZone(&w.TimeZone)
		}
		return d.list(nsTypes, "WorkingPeriod", func() error {
			var p WorkingPeriod
			err := d.workingPeriod(&p)
			w.WorkingPeriodArray.WorkingPeriod = append(w.WorkingPeriodArray.WorkingPeriod, p)
			return err
		})
	})
}

func (d *fastAvailability) timeZone(z *SerializableTimeZone) (err error) {
	return d.fields(nsTypes, timeZoneFields, func(i int) error {
		switch i {
		case 0:
			z.Bias, err = d.integer()
		case 1:
			err = d.timeChange(&z.StandardTime)
		default:
			err = d.timeChange(&z.DaylightTime)
		}
		return err
	})
}

func (d *fastAvailability) timeChange(c *SerializableTimeZoneTime) (err error) {
	return d.fields(nsTypes, timeChangeFields, func(i int) error {
		switch i {
		case 0:
			c.Bias, err = d.integer()
		case 1:
			c.Time, err = d.internText()
		case 2:
			c.DayOrder, err = d.integer()
		case 3:
			c.Month, err = d.integer()
		default:
			c.DayOfWeek, err = d.internText()
		}
		return err
	})
}

func (d *fastAvailability) workingPeriod(p *WorkingPeriod) (err error) {
	return d.fields(nsTypes, workingPeriodFields, func(i int) error {
		switch i {
		case 0:
			p.DayOfWeek, err = d.internText()
		case 1:
			p.StartTimeInMinutes, err = d.integer()
		default:
			p.EndTimeInMinutes, err = d.integer()
		}
		return err
	})
}
