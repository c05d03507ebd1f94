package ewswire

import "github.com/calsync/calsync/ews"

// itemScratch holds one calendar item while the fast decoder reads it: the
// wire struct's pointers point into the scratch, which is reused for every
// item, so only the strings that end up in the ews.CalendarItem are
// allocated. ToEWS copies everything it keeps.
type itemScratch struct {
	w                 CalendarItem
	id                ItemId
	parent            FolderId
	subject, location string
	times             [7]DateTime
	bools             [8]bool
	ints              [2]int
	organizer         SingleRecipient
	tz                [2]TimeZoneDefinition
	body              Body
	categories        StringArray
}

// calendarItem reads a t:CalendarItem and converts it.
func (d *fastCalendar) calendarItem() (ews.CalendarItem, error) {
	s := &d.s
	sc := &d.item
	cats := sc.categories.String[:0]
	d.strings.reset()
	*sc = itemScratch{}
	sc.categories.String = cats
	w := &sc.w
	var seen fieldSet
	pos := 0
	err := d.each(func() error {
		if s.space != nsTypes {
			return s.skip()
		}
		f, ok := d.itemField(pos, s.local)
		pos++
		if !ok {
			return s.skip()
		}
		if err := seen.once(f.bit); err != nil {
			return err
		}
		return f.read(d, sc)
	})
	if err != nil {
		return ews.CalendarItem{}, err
	}
	d.strings.fill()
	org := w.Organizer
	w.Organizer = nil
	c, err := w.ToEWS()
	if err != nil {
		return ews.CalendarItem{}, errNotFast
	}
	if org != nil {
		// ToEWS would allocate each organizer alone.
		c.Organizer = d.organizer()
		*c.Organizer = org.Mailbox.ToEWS()
	}
	return c, nil
}

// organizer hands out the next ews.Mailbox of a block sized from the items
// the answer announces (a block is never reused: the items point into it).
func (d *fastCalendar) organizer() *ews.Mailbox {
	if len(d.organizers) == cap(d.organizers) {
		d.organizers = make([]ews.Mailbox, 0, min(max(d.itemsLeft, 1), 64))
	}
	d.itemsLeft--
	d.organizers = d.organizers[:len(d.organizers)+1]
	return &d.organizers[len(d.organizers)-1]
}

// itemField reads one child element of a calendar item into the scratch.
type itemField struct {
	bit  uint
	read func(d *fastCalendar, sc *itemScratch) error
}

// namedField is an itemField with its name.
type namedField struct {
	name string
	itemField
}

// itemField returns the field named local, the pos-th child of the item.
// The items of an answer list their fields in the same order, so the
// field found at pos in the item before is tried first: one comparison of
// the name instead of hashing it for the map (the field lookups were a
// sixth of the decoder's time).
func (d *fastCalendar) itemField(pos int, local []byte) (itemField, bool) {
	if pos < len(d.order) && d.order[pos].read != nil && d.order[pos].name == string(local) {
		return d.order[pos].itemField, true
	}
	f, ok := namedFields[string(local)]
	if pos < len(d.order) {
		d.order[pos] = f // the zero namedField for an unknown element
	}
	return f.itemField, ok
}

// namedFields are itemFields with their names.
var namedFields = func() map[string]namedField {
	m := make(map[string]namedField, len(itemFields))
	for name, f := range itemFields {
		m[name] = namedField{name, f}
	}
	return m
}()

// stringField reads a text of the item's own (UID) into the item's
// string block.
func stringField(bit uint, dst func(sc *itemScratch) *string) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) error {
		return d.itemText(dst(sc))
	}}
}

func timeField(bit uint, slot int, dst func(w *CalendarItem) **DateTime) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) (err error) {
		sc.times[slot], err = d.dateTime()
		*dst(&sc.w) = &sc.times[slot]
		return err
	}}
}

func boolField(bit uint, slot int, dst func(w *CalendarItem) **bool) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) (err error) {
		sc.bools[slot], err = d.boolean()
		*dst(&sc.w) = &sc.bools[slot]
		return err
	}}
}

func intField(bit uint, slot int, dst func(w *CalendarItem) **int) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) (err error) {
		sc.ints[slot], err = d.integer()
		*dst(&sc.w) = &sc.ints[slot]
		return err
	}}
}

func attendeesField(bit uint, dst func(w *CalendarItem) **Attendees) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) (err error) {
		*dst(&sc.w), err = d.attendees()
		return err
	}}
}

func occurrenceField(bit uint, dst func(w *CalendarItem) **OccurrenceInfo) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) error {
		o, err := d.occurrence()
		*dst(&sc.w) = &o
		return err
	}}
}

func timeZoneField(bit uint, slot int, dst func(w *CalendarItem) **TimeZoneDefinition) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) error {
		tz := &sc.tz[slot]
		if b, ok := d.s.attr("Id"); ok {
			tz.Id = d.intern(b)
		}
		if b, ok := d.s.attr("Name"); ok {
			tz.Name = d.intern(b)
		}
		*dst(&sc.w) = tz
		return d.s.skip() // periods and transitions: ToEWS keeps only the Id
	}}
}

// itemFields are the elements of t:CalendarItemType that CalendarItem
// decodes, by local name in the types namespace. Recurrence is left to
// encoding/xml (CalendarView answers occurrences, never a pattern).
var itemFields = map[string]itemField{
	"ItemId": {0, func(d *fastCalendar, sc *itemScratch) error {
		if b, ok := d.s.attr("Id"); ok {
			d.strings.add(&sc.id.Id, b)
		}
		if b, ok := d.s.attr("ChangeKey"); ok {
			d.strings.add(&sc.id.ChangeKey, b)
		}
		sc.w.ItemId = &sc.id
		return d.s.skip()
	}},
	"ParentFolderId": {1, func(d *fastCalendar, sc *itemScratch) error {
		// Every item of a CalendarView is in the same folder.
		if b, ok := d.s.attr("Id"); ok {
			sc.parent.Id = d.same(&d.parentID, b)
		}
		if b, ok := d.s.attr("ChangeKey"); ok {
			sc.parent.ChangeKey = d.same(&d.parentKey, b)
		}
		sc.w.ParentFolderId = &sc.parent
		return d.s.skip()
	}},
	"ItemClass":   enumField(2, func(w *CalendarItem) *string { return &w.ItemClass }),
	"Subject":     stringPtrField(3, func(sc *itemScratch) (*string, **string) { return &sc.subject, &sc.w.Subject }),
	"Sensitivity": enumField(4, func(w *CalendarItem) *string { return &w.Sensitivity }),
	"Body": {5, func(d *fastCalendar, sc *itemScratch) (err error) {
		if b, ok := d.s.attr("BodyType"); ok {
			sc.body.BodyType = d.intern(b)
		}
		sc.w.Body = &sc.body
		d.buf, err = d.s.text(d.buf)
		sc.body.Text = string(d.buf)
		return err
	}},
	"Categories": {6, func(d *fastCalendar, sc *itemScratch) error {
		sc.w.Categories = &sc.categories
		return d.each(func() error {
			if d.s.space != nsTypes || string(d.s.local) != "String" {
				return d.s.skip()
			}
			v, err := d.str()
			sc.categories.String = append(sc.categories.String, v)
			return err
		})
	}},
	"Importance":            enumField(7, func(w *CalendarItem) *string { return &w.Importance }),
	"DateTimeCreated":       timeField(8, 0, func(w *CalendarItem) **DateTime { return &w.DateTimeCreated }),
	"ExtendedProperty":      {9, func(*fastCalendar, *itemScratch) error { return errNotFast }}, // only when asked for; encoding/xml reads them
	"LastModifiedTime":      timeField(10, 1, func(w *CalendarItem) **DateTime { return &w.LastModifiedTime }),
	"UID":                   stringField(11, func(sc *itemScratch) *string { return &sc.w.UID }),
	"RecurrenceId":          timeField(12, 2, func(w *CalendarItem) **DateTime { return &w.RecurrenceId }),
	"DateTimeStamp":         timeField(13, 3, func(w *CalendarItem) **DateTime { return &w.DateTimeStamp }),
	"Start":                 timeField(14, 4, func(w *CalendarItem) **DateTime { return &w.Start }),
	"End":                   timeField(15, 5, func(w *CalendarItem) **DateTime { return &w.End }),
	"OriginalStart":         timeField(16, 6, func(w *CalendarItem) **DateTime { return &w.OriginalStart }),
	"IsAllDayEvent":         boolField(17, 0, func(w *CalendarItem) **bool { return &w.IsAllDayEvent }),
	"LegacyFreeBusyStatus":  enumField(18, func(w *CalendarItem) *string { return &w.LegacyFreeBusyStatus }),
	"Location":              stringPtrField(19, func(sc *itemScratch) (*string, **string) { return &sc.location, &sc.w.Location }),
	"IsMeeting":             boolField(20, 1, func(w *CalendarItem) **bool { return &w.IsMeeting }),
	"IsCancelled":           boolField(21, 2, func(w *CalendarItem) **bool { return &w.IsCancelled }),
	"IsRecurring":           boolField(22, 3, func(w *CalendarItem) **bool { return &w.IsRecurring }),
	"MeetingRequestWasSent": boolField(23, 4, func(w *CalendarItem) **bool { return &w.MeetingRequestWasSent }),
	"IsResponseRequested":   boolField(24, 5, func(w *CalendarItem) **bool { return &w.IsResponseRequested }),
	"CalendarItemType":      enumField(25, func(w *CalendarItem) *string { return &w.CalendarItemType }),
	"MyResponseType":        enumField(26, func(w *CalendarItem) *string { return &w.MyResponseType }),
	"Organizer": {27, func(d *fastCalendar, sc *itemScratch) error {
		sc.w.Organizer = &sc.organizer
		return d.mailboxIn(&sc.organizer.Mailbox)
	}},
	"RequiredAttendees":         attendeesField(28, func(w *CalendarItem) **Attendees { return &w.RequiredAttendees }),
	"OptionalAttendees":         attendeesField(29, func(w *CalendarItem) **Attendees { return &w.OptionalAttendees }),
	"Resources":                 attendeesField(30, func(w *CalendarItem) **Attendees { return &w.Resources }),
	"AppointmentSequenceNumber": intField(31, 0, func(w *CalendarItem) **int { return &w.AppointmentSequenceNumber }),
	"AppointmentState":          intField(32, 1, func(w *CalendarItem) **int { return &w.AppointmentState }),
	"Recurrence":                {33, func(*fastCalendar, *itemScratch) error { return errNotFast }},
	"FirstOccurrence":           occurrenceField(34, func(w *CalendarItem) **OccurrenceInfo { return &w.FirstOccurrence }),
	"LastOccurrence":            occurrenceField(35, func(w *CalendarItem) **OccurrenceInfo { return &w.LastOccurrence }),
	"ModifiedOccurrences": {36, func(d *fastCalendar, sc *itemScratch) error {
		list := &Occurrences{}
		sc.w.ModifiedOccurrences = list
		return d.each(func() error {
			if d.s.space != nsTypes || string(d.s.local) != "Occurrence" {
				return d.s.skip()
			}
			o, err := d.occurrence()
			list.Occurrence = append(list.Occurrence, o)
			return err
		})
	}},
	"DeletedOccurrences": {37, func(d *fastCalendar, sc *itemScratch) error {
		list := &DeletedOccs{}
		sc.w.DeletedOccurrences = list
		return d.each(func() error {
			if d.s.space != nsTypes || string(d.s.local) != "DeletedOccurrence" {
				return d.s.skip()
			}
			var o DeletedOccurrence
			var seen fieldSet
			err := d.each(func() error {
				if d.s.space != nsTypes || string(d.s.local) != "Start" {
					return d.s.skip()
				}
				if err := seen.once(0); err != nil {
					return err
				}
				var err error
				o.Start, err = d.dateTimePtr()
				return err
			})
			list.DeletedOccurrence = append(list.DeletedOccurrence, o)
			return err
		})
	}},
	"StartTimeZone":   timeZoneField(38, 0, func(w *CalendarItem) **TimeZoneDefinition { return &w.StartTimeZone }),
	"EndTimeZone":     timeZoneField(39, 1, func(w *CalendarItem) **TimeZoneDefinition { return &w.EndTimeZone }),
	"IsOnlineMeeting": boolField(40, 6, func(w *CalendarItem) **bool { return &w.IsOnlineMeeting }),
	"StartTimeZoneId": enumField(41, func(w *CalendarItem) *string { return &w.StartTimeZoneId }),
	"EndTimeZoneId":   enumField(42, func(w *CalendarItem) *string { return &w.EndTimeZoneId }),
	"IsOrganizer":     boolField(43, 7, func(w *CalendarItem) **bool { return &w.IsOrganizer }),
}

// enumField reads a string from a small set of repeated values (a
// sensitivity, a zone id), shared across the response.
func enumField(bit uint, dst func(w *CalendarItem) *string) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) error {
		b, buf, err := d.s.textOnly(d.buf)
		d.buf = buf
		*dst(&sc.w) = d.intern(b)
		return err
	}}
}

func stringPtrField(bit uint, dst func(sc *itemScratch) (*string, **string)) itemField {
	return itemField{bit, func(d *fastCalendar, sc *itemScratch) error {
		v, p := dst(sc)
		*p = v
		return d.itemText(v)
	}}
}

// itemText reads the current element's text into the item's string block.
func (d *fastCalendar) itemText(dst *string) error {
	b, buf, err := d.s.textOnly(d.buf)
	d.buf = buf
	d.strings.add(dst, b)
	return err
}

// same returns b as a string, *last when it is equal to it (the parent
// folder's id, repeated by every item).
func (d *fastCalendar) same(last *string, b []byte) string {
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}

// stringBlock gathers the texts that belong to one item alone (its id and
// change key, subject, UID, location) and makes them one allocation
// instead of five: the item's strings are slices of one string. They live
// and die together (calendar.Occurrence keeps all of them), so the block
// holds nothing alive that would otherwise be free.
type stringBlock struct {
	data  []byte
	fixes []stringFix
}

type stringFix struct {
	dst      *string
	from, to int
}

func (sb *stringBlock) reset() {
	sb.data, sb.fixes = sb.data[:0], sb.fixes[:0]
}

// add appends b and records that *dst gets it when the block is filled.
func (sb *stringBlock) add(dst *string, b []byte) {
	from := len(sb.data)
	sb.data = append(sb.data, b...)
	sb.fixes = append(sb.fixes, stringFix{dst, from, len(sb.data)})
}

// fill makes the block's string and points every recorded string at its
// part of it.
func (sb *stringBlock) fill() {
	all := string(sb.data)
	for _, f := range sb.fixes {
		*f.dst = all[f.from:f.to]
	}
}

// idAttrs reads the Id and ChangeKey attributes of an id element.
func (d *fastCalendar) idAttrs() (id, changeKey string) {
	if b, ok := d.s.attr("Id"); ok {
		id = string(b)
	}
	if b, ok := d.s.attr("ChangeKey"); ok {
		changeKey = string(b)
	}
	return id, changeKey
}

// mailboxIn reads an element holding a t:Mailbox (Organizer, Attendee).
func (d *fastCalendar) mailboxIn(m *EmailAddress) error {
	var seen fieldSet
	return d.each(func() error {
		if d.s.space != nsTypes || string(d.s.local) != "Mailbox" {
			return d.s.skip()
		}
		if err := seen.once(0); err != nil {
			return err
		}
		return d.mailbox(m)
	})
}

// mailbox reads t:EmailAddressType; names and addresses repeat across
// items (organizers, attendees), so they are interned.
func (d *fastCalendar) mailbox(m *EmailAddress) error {
	var seen fieldSet
	return d.each(func() error {
		if d.s.space != nsTypes {
			return d.s.skip()
		}
		var dst *string
		var bit uint
		switch string(d.s.local) {
		case "Name":
			dst, bit = &m.Name, 0
		case "EmailAddress":
			dst, bit = &m.EmailAddress, 1
		case "RoutingType":
			dst, bit = &m.RoutingType, 2
		case "MailboxType":
			dst, bit = &m.MailboxType, 3
		default:
			return d.s.skip()
		}
		if err := seen.once(bit); err != nil {
			return err
		}
		b, buf, err := d.s.textOnly(d.buf)
		d.buf = buf
		*dst = d.intern(b)
		return err
	})
}

// attendees reads t:NonEmptyArrayOfAttendeesType.
func (d *fastCalendar) attendees() (*Attendees, error) {
	list := &Attendees{}
	err := d.each(func() error {
		if d.s.space != nsTypes || string(d.s.local) != "Attendee" {
			return d.s.skip()
		}
		var a Attendee
		var seen fieldSet
		err := d.each(func() error {
			if d.s.space != nsTypes {
				return d.s.skip()
			}
			switch string(d.s.local) {
			case "Mailbox":
				if err := seen.once(0); err != nil {
					return err
				}
				return d.mailbox(&a.Mailbox)
			case "ResponseType":
				if err := seen.once(1); err != nil {
					return err
				}
				b, buf, err := d.s.textOnly(d.buf)
				d.buf = buf
				a.ResponseType = d.intern(b)
				return err
			case "LastResponseTime":
				if err := seen.once(2); err != nil {
					return err
				}
				var err error
				a.LastResponseTime, err = d.dateTimePtr()
				return err
			}
			return d.s.skip()
		})
		list.Attendee = append(list.Attendee, a)
		return err
	})
	return list, err
}

// occurrence reads t:OccurrenceInfoType.
func (d *fastCalendar) occurrence() (OccurrenceInfo, error) {
	var o OccurrenceInfo
	var seen fieldSet
	err := d.each(func() error {
		if d.s.space != nsTypes {
			return d.s.skip()
		}
		var dst **DateTime
		var bit uint
		switch string(d.s.local) {
		case "ItemId":
			if err := seen.once(0); err != nil {
				return err
			}
			o.ItemId.Id, o.ItemId.ChangeKey = d.idAttrs()
			return d.s.skip()
		case "Start":
			dst, bit = &o.Start, 1
		case "End":
			dst, bit = &o.End, 2
		case "OriginalStart":
			dst, bit = &o.OriginalStart, 3
		default:
			return d.s.skip()
		}
		if err := seen.once(bit); err != nil {
			return err
		}
		var err error
		*dst, err = d.dateTimePtr()
		return err
	})
	return o, err
}
