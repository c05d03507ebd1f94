package ewsserver

import (
	"errors"
	"strconv"
	"time"

	"github.com/calsync/calsync/ews"
)

// Extended properties: Exchange stores any MAPI property a client sets by
// path and returns it only when a request names it in AdditionalProperties.
// The properties behind first-class calendar properties are one value with
// two names: setting PidLidAppointmentStateFlags cancels the meeting
// (IsCancelled, AppointmentState), setting LegacyFreeBusyStatus changes
// PidLidBusyStatus. Backends keep only the first-class view of those
// (mappedProperties) and every other property in
// CalendarItem.ExtendedProperties; the handler renders both.

// mappedProperty is a MAPI property Exchange keeps as a first-class
// calendar property.
type mappedProperty struct {
	key ews.PropertyKey
	typ string
	// get returns the value, false when the item has none.
	get func(c *ews.CalendarItem) (string, bool)
	// set stores a value already checked against typ.
	set func(c *ews.CalendarItem, v string) error
	// del removes the property (the first-class default).
	del func(c *ews.CalendarItem) error
}

const psetidAppointment = "00062002-0000-0000-c000-000000000046"

// busyStatuses is PidLidBusyStatus's numbering ([MS-OXOCAL] 2.2.1.2).
var busyStatuses = []ews.FreeBusyStatus{ews.FreeBusyFree, ews.FreeBusyTentative, ews.FreeBusyBusy, ews.FreeBusyOOF, ews.FreeBusyWorkingElsewhere}

// sensitivities is PidTagSensitivity's numbering.
var sensitivities = []ews.Sensitivity{ews.SensitivityNormal, ews.SensitivityPersonal, ews.SensitivityPrivate, ews.SensitivityConfidential}

var mappedProperties = []mappedProperty{
	{key: ews.PropertyKey{Set: psetidAppointment, ID: 0x8217}, typ: "Integer", // PidLidAppointmentStateFlags
		get: func(c *ews.CalendarItem) (string, bool) { return strconv.Itoa(int(AppointmentStateOf(c))), true },
		set: func(c *ews.CalendarItem, v string) error {
			n, _ := strconv.ParseInt(v, 10, 32)
			SetAppointmentState(c, ews.AppointmentState(n))
			return nil
		},
		del: func(c *ews.CalendarItem) error { SetAppointmentState(c, 0); return nil }},
	enumProperty(ews.PropertyKey{Set: psetidAppointment, ID: 0x8205}, "PidLidBusyStatus", busyStatuses, ews.FreeBusyBusy,
		func(c *ews.CalendarItem) *ews.FreeBusyStatus { return &c.LegacyFreeBusyStatus }),
	{key: ews.PropertyKey{Set: psetidAppointment, ID: 0x8208}, typ: "String", // PidLidLocation
		get: func(c *ews.CalendarItem) (string, bool) { return c.Location, c.Location != "" },
		set: func(c *ews.CalendarItem, v string) error { c.Location = v; return nil },
		del: func(c *ews.CalendarItem) error { c.Location = ""; return nil }},
	{key: ews.PropertyKey{Set: psetidAppointment, ID: 0x8215}, typ: "Boolean", // PidLidAppointmentSubType
		get: func(c *ews.CalendarItem) (string, bool) { return strconv.FormatBool(c.IsAllDayEvent), true },
		set: func(c *ews.CalendarItem, v string) error { c.IsAllDayEvent = v == "true" || v == "1"; return nil },
		del: func(c *ews.CalendarItem) error { c.IsAllDayEvent = false; return nil }},
	{key: ews.PropertyKey{Set: psetidAppointment, ID: 0x820D}, typ: "SystemTime", // PidLidAppointmentStartWhole
		get: func(c *ews.CalendarItem) (string, bool) { return timeValue(c.Start) },
		set: func(c *ews.CalendarItem, v string) error { c.Start, _ = time.Parse(time.RFC3339, v); return nil },
		del: func(*ews.CalendarItem) error {
			return Fail(ews.ErrorInvalidPropertyDelete, "PidLidAppointmentStartWhole (the Start) cannot be deleted.")
		}},
	{key: ews.PropertyKey{Set: psetidAppointment, ID: 0x820E}, typ: "SystemTime", // PidLidAppointmentEndWhole
		get: func(c *ews.CalendarItem) (string, bool) { return timeValue(c.End) },
		set: func(c *ews.CalendarItem, v string) error { c.End, _ = time.Parse(time.RFC3339, v); return nil },
		del: func(*ews.CalendarItem) error {
			return Fail(ews.ErrorInvalidPropertyDelete, "PidLidAppointmentEndWhole (the End) cannot be deleted.")
		}},
	{key: ews.PropertyKey{Tag: 0x0037}, typ: "String", // PidTagSubject
		get: func(c *ews.CalendarItem) (string, bool) { return c.Subject, c.Subject != "" },
		set: func(c *ews.CalendarItem, v string) error { c.Subject = v; return nil },
		del: func(c *ews.CalendarItem) error { c.Subject = ""; return nil }},
	enumProperty(ews.PropertyKey{Tag: 0x0036}, "PidTagSensitivity", sensitivities, ews.SensitivityNormal,
		func(c *ews.CalendarItem) *ews.Sensitivity { return &c.Sensitivity }),
}

// enumProperty maps an Integer MAPI property numbering the values of an
// EWS enumeration (list[n] is value n); deleting it restores def.
func enumProperty[T comparable](key ews.PropertyKey, name string, list []T, def T, field func(*ews.CalendarItem) *T) mappedProperty {
	return mappedProperty{key: key, typ: "Integer",
		get: func(c *ews.CalendarItem) (string, bool) {
			for i, v := range list {
				if v == *field(c) {
					return strconv.Itoa(i), true
				}
			}
			return "", false
		},
		set: func(c *ews.CalendarItem, v string) error {
			n, _ := strconv.Atoi(v)
			if n < 0 || n >= len(list) {
				return Failf(ews.ErrorInvalidExtendedPropertyValue, "%s %d is not one of 0 (%v) … %d (%v).", name, n, list[0], len(list)-1, list[len(list)-1])
			}
			*field(c) = list[n]
			return nil
		},
		del: func(c *ews.CalendarItem) error { *field(c) = def; return nil }}
}

func timeValue(t time.Time) (string, bool) {
	if t.IsZero() {
		return "", false
	}
	return t.UTC().Format("2006-01-02T15:04:05Z"), true
}

func mappedFor(k ews.PropertyKey) *mappedProperty {
	for i := range mappedProperties {
		if mappedProperties[i].key == k {
			return &mappedProperties[i]
		}
	}
	return nil
}

// AppointmentStateOf is PidLidAppointmentStateFlags as Exchange derives it:
// the meeting and cancelled bits follow IsMeeting and IsCancelled, other
// bits (received, forwarded) come from AppointmentState.
func AppointmentStateOf(c *ews.CalendarItem) ews.AppointmentState {
	s := c.AppointmentState &^ (ews.AppointmentMeeting | ews.AppointmentCancelled)
	if c.IsMeeting {
		s |= ews.AppointmentMeeting
	}
	if c.IsCancelled {
		s |= ews.AppointmentCancelled
	}
	return s
}

// SetAppointmentState sets PidLidAppointmentStateFlags: IsMeeting and
// IsCancelled follow its bits, the received bit MyResponseType (a meeting
// without it is the user's own: Organizer), AppointmentState keeps the
// whole value.
func SetAppointmentState(c *ews.CalendarItem, s ews.AppointmentState) {
	c.IsMeeting = s.Has(ews.AppointmentMeeting)
	c.IsCancelled = s.Has(ews.AppointmentCancelled)
	if c.IsMeeting {
		switch {
		case !s.Has(ews.AppointmentReceived):
			c.MyResponseType = ews.ResponseOrganizer
		case c.MyResponseType == "" || c.MyResponseType == ews.ResponseOrganizer:
			c.MyResponseType = ews.ResponseNoResponseReceived
		}
	}
	c.AppointmentState = s
}

// extendedFail turns a path or value error of the ews package into the
// response message Exchange sends.
func extendedFail(err error) error {
	var fe *ews.ExtendedFieldError
	if errors.As(err, &fe) {
		return Fail(fe.Code, fe.Msg)
	}
	return err
}

// SetExtendedProperty sets one extended property of c: a mapped one
// changes the first-class property, any other replaces the property of
// the same identity in c.ExtendedProperties (a new slice: views handed out
// before keep theirs). Errors are response messages
// (ErrorInvalidExtendedProperty, ErrorInvalidExtendedPropertyValue).
func SetExtendedProperty(c *ews.CalendarItem, p ews.ExtendedProperty) error {
	if err := p.Check(); err != nil {
		return extendedFail(err)
	}
	key, _ := p.Field.Key()
	if m := mappedFor(key); m != nil {
		if p.Field.PropertyType != m.typ {
			return Failf(ews.ErrorInvalidExtendedPropertyValue, "Extended property %s is of type %s.", p.Field, m.typ)
		}
		return m.set(c, p.Value)
	}
	out := make([]ews.ExtendedProperty, 0, len(c.ExtendedProperties)+1)
	for _, q := range c.ExtendedProperties {
		if k, err := q.Field.Key(); err != nil || k != key {
			out = append(out, q)
		}
	}
	p.Values = append([]string(nil), p.Values...)
	c.ExtendedProperties = append(out, p)
	return nil
}

// DeleteExtendedProperty removes one extended property of c (a mapped one
// goes back to its first-class default). Removing a property the item does
// not have is no error, as on Exchange.
func DeleteExtendedProperty(c *ews.CalendarItem, f ews.ExtendedFieldURI) error {
	key, err := f.Key()
	if err != nil {
		return extendedFail(err)
	}
	if m := mappedFor(key); m != nil {
		return m.del(c)
	}
	out := make([]ews.ExtendedProperty, 0, len(c.ExtendedProperties))
	for _, q := range c.ExtendedProperties {
		if k, err := q.Field.Key(); err != nil || k != key {
			out = append(out, q)
		}
	}
	c.ExtendedProperties = out
	return nil
}

// ApplyExtendedProperties sets the extended properties a new item carries
// (CreateItem), in order: mapped ones change the first-class properties,
// the others are kept once each.
func ApplyExtendedProperties(c *ews.CalendarItem) error {
	given := c.ExtendedProperties
	c.ExtendedProperties = nil
	for _, p := range given {
		if err := SetExtendedProperty(c, p); err != nil {
			return err
		}
	}
	return nil
}

// SelectExtendedProperties returns the properties of c that paths ask
// for, each under the path as asked (clients match answers by the path
// they sent), in the order asked; properties the item does not have are
// left out. Invalid paths are an error.
func SelectExtendedProperties(c *ews.CalendarItem, paths []ews.ExtendedFieldURI) ([]ews.ExtendedProperty, error) {
	var out []ews.ExtendedProperty
	for _, f := range paths {
		key, err := f.Key()
		if err != nil {
			return nil, extendedFail(err)
		}
		if m := mappedFor(key); m != nil {
			if v, ok := m.get(c); ok && f.PropertyType == m.typ {
				out = append(out, ews.ExtendedProperty{Field: f, Value: v})
			}
			continue
		}
		for _, q := range c.ExtendedProperties {
			if k, err := q.Field.Key(); err == nil && k == key && q.Field.PropertyType == f.PropertyType {
				out = append(out, ews.ExtendedProperty{Field: f, Value: q.Value, Values: q.Values})
				break
			}
		}
	}
	return out, nil
}
