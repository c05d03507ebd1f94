package ewswire

import (
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
)

// CalendarItemsResponse is a FindItem response of one message, decoded by
// DecodeFindItemCalendar: what the client reads of it.
type CalendarItemsResponse struct {
	// ServerVersionInfo is the response header, nil when absent.
	ServerVersionInfo *ServerVersionInfo
	Message           ResponseMessage
	// RootFolder holds the paging attributes; its Items stay empty (the
	// calendar items are converted into Items below).
	RootFolder *FindItemRootFolder
	Items      []ews.CalendarItem
	// SOAP12 is true for a SOAP 1.2 envelope.
	SOAP12 bool
}

// DecodeFindItemCalendar decodes a FindItem response holding calendar items
// (a CalendarView page) without reflection: it reads the whole body as
// tokens and converts each calendar item as soon as it is read, through the
// same CalendarItem.ToEWS that DecodeEnvelope's callers use, so both agree
// field by field (fastcalendar_test.go compares them).
//
// It handles the shapes servers answer a CalendarView with. Anything else —
// a fault, an error message, headers other than ServerVersionInfo,
// recurrence patterns, repeated elements, DOCTYPEs, unusual entities —
// yields an error, and so does input encoding/xml refuses. Any error means
// "decode this body with DecodeEnvelope": that gives the authoritative
// result or the precise error, so this decoder never has to reproduce
// encoding/xml's error texts.
func DecodeFindItemCalendar(data []byte, lim Limits) (*CalendarItemsResponse, error) {
	return decodeFindItemCalendar(data, lim, nil)
}

// decodeFindItemCalendar is DecodeFindItemCalendar appending the items to
// buffer[:0] when its capacity suffices (FindItemResponse.ItemBuffer).
func decodeFindItemCalendar(data []byte, lim Limits, buffer []ews.CalendarItem) (*CalendarItemsResponse, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, ErrTooLarge
	}
	d := calendarDecoders.Get().(*fastCalendar)
	defer d.recycle()
	d.s = fastScanner{data: data, maxDepth: lim.MaxDepth}
	d.s.init()
	d.buffer = buffer
	if err := d.envelope("FindItemResponse", d.responseMessages("FindItemResponseMessage", &d.messages, d.findItemMessage)); err != nil {
		return nil, err
	}
	if d.messages == 0 {
		return nil, errNotFast
	}
	d.out.SOAP12, d.out.ServerVersionInfo = d.soap12, d.serverVersion
	out := d.out
	return &out, nil
}

// calendarDecoders recycle the CalendarView decoder (a few KB with its
// scratch item, stacks and buffers): one per FindItem answer otherwise.
var calendarDecoders = sync.Pool{New: func() any { return new(fastCalendar) }}

// recycle clears what the decoder read (nothing of an answer stays
// reachable from the pool) and gives it back with its buffers and intern
// table.
func (d *fastCalendar) recycle() {
	table, buf, block := d.interned, d.buf[:0], d.strings
	block.reset()
	clear(block.fixes[:cap(block.fixes)])
	if len(table) >= maxInterned {
		clear(table)
	}
	*d = fastCalendar{}
	d.interned, d.buf, d.strings = table, buf, block
	if cap(buf) > 64<<10 || cap(block.data) > 64<<10 {
		d.buf, d.strings = nil, stringBlock{} // a rare large text is not kept
	}
	calendarDecoders.Put(d)
}

// fastCalendar decodes a FindItem response's message and items.
type fastCalendar struct {
	fastDecoder
	out      CalendarItemsResponse
	messages int
	item     itemScratch
	// strings is the current item's string block; parentID and
	// parentKey the last parent folder id read.
	strings             stringBlock
	parentID, parentKey string
	// organizers is the block the items' organizers are taken from;
	// itemsLeft the items the answer announced and not yet given one.
	organizers []ews.Mailbox
	itemsLeft  int
	// buffer is the caller's slice for the items, nil for a new one.
	buffer []ews.CalendarItem
	// order holds the field met at each position of the item read last
	// (itemField).
	order [40]namedField
}

func (d *fastCalendar) findItemMessage() error {
	var seen fieldSet
	return d.responseMessage(&d.out.Message, func(local string) (bool, error) {
		if local != "RootFolder" {
			return false, nil
		}
		if err := seen.once(0); err != nil {
			return true, err
		}
		return true, d.rootFolder()
	})
}

func (d *fastCalendar) rootFolder() error {
	s := &d.s
	r := &FindItemRootFolder{}
	if b, ok := s.attr("IndexedPagingOffset"); ok {
		n, err := parseXMLInt(b)
		if err != nil {
			return err
		}
		r.IndexedPagingOffset = &n
	}
	if b, ok := s.attr("TotalItemsInView"); ok {
		n, err := parseXMLInt(b)
		if err != nil {
			return err
		}
		r.TotalItemsInView = n
	}
	if b, ok := s.attr("IncludesLastItemInRange"); ok {
		v, err := parseXMLBool(b)
		if err != nil {
			return err
		}
		r.IncludesLastItemInRange = v
	}
	d.out.RootFolder = r
	// The items are appended as they are read: sizing the slice from the
	// count the server announces saves regrowing it (a converted item is
	// about 650 bytes). The count is only a hint, bounded by what the body
	// can hold, so a hostile one costs no more than the body itself.
	n := max(min(r.TotalItemsInView, len(s.data)/minItemBytes, maxPresizedItems), 0)
	d.out.Items, d.itemsLeft = d.buffer[:0], n
	if n > cap(d.out.Items) {
		d.out.Items = make([]ews.CalendarItem, 0, n)
	}
	var seen fieldSet
	return d.each(func() error {
		if s.space != nsTypes || string(s.local) != "Items" {
			return s.skip()
		}
		if err := seen.once(0); err != nil {
			return err
		}
		return d.each(func() error {
			// Items.UnmarshalXML takes a CalendarItem in any namespace;
			// other item kinds (kept as GenericItem) are left to it.
			if string(s.local) != "CalendarItem" {
				return errNotFast
			}
			c, err := d.calendarItem()
			if err != nil {
				return err
			}
			d.out.Items = append(d.out.Items, c)
			return nil
		})
	})
}

// minItemBytes is well under the size of a calendar item with the
// properties calsync asks for (about 1 KB; Exchange's ids alone are over
// 100 bytes); maxPresizedItems caps the hint.
const (
	minItemBytes     = 256
	maxPresizedItems = 4096
)

// fieldSet records which singular elements were read: a repeated one is
// left to encoding/xml (which merges or replaces).
type fieldSet uint64

func (f *fieldSet) once(bit uint) error {
	if *f&(1<<bit) != 0 {
		return errNotFast
	}
	*f |= 1 << bit
	return nil
}

// dateTime reads the current element as an xs:dateTime.
func (d *fastCalendar) dateTime() (DateTime, error) {
	b, buf, err := d.s.textOnly(d.buf)
	d.buf = buf
	if err != nil {
		return DateTime{}, err
	}
	if t, ok := parseUTCDateTime(b); ok {
		return DateTime{Time: t}, nil
	}
	t, err := ParseDateTime(string(b))
	if err != nil {
		return DateTime{}, errNotFast
	}
	return DateTime{Time: t}, nil
}

func (d *fastCalendar) dateTimePtr() (*DateTime, error) {
	t, err := d.dateTime()
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (d *fastDecoder) boolean() (bool, error) {
	b, buf, err := d.s.textOnly(d.buf)
	d.buf = buf
	if err != nil {
		return false, err
	}
	return parseXMLBool(b)
}

func (d *fastDecoder) integer() (int, error) {
	b, buf, err := d.s.textOnly(d.buf)
	d.buf = buf
	if err != nil {
		return 0, err
	}
	return parseXMLInt(b)
}

// parseUTCDateTime parses the form Exchange writes, 2006-01-02T15:04:05Z,
// to the same time.Time as time.Parse (RFC 3339) does; other forms return
// false and go through ParseDateTime.
func parseUTCDateTime(b []byte) (time.Time, bool) {
	b = trimXMLSpace(b)
	if len(b) != 20 || b[19] != 'Z' {
		return time.Time{}, false
	}
	return parseWallClock(b[:19])
}

// parseWallClock parses 2006-01-02T15:04:05 (no zone, no fraction) to the
// UTC time ParseDateTime gives for it; other forms return false.
func parseWallClock(b []byte) (time.Time, bool) {
	if len(b) != 19 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day, hour, minute, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // 31 April and the like: time.Parse refuses them
		return time.Time{}, false
	}
	return t, true
}

func trimXMLSpace(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// parseXMLBool reads a boolean as encoding/xml does (empty is false,
// strconv.ParseBool's spellings otherwise).
func parseXMLBool(b []byte) (bool, error) {
	if len(b) == 0 {
		return false, nil
	}
	switch string(trimXMLSpace(b)) {
	case "1", "t", "T", "TRUE", "true", "True":
		return true, nil
	case "0", "f", "F", "FALSE", "false", "False":
		return false, nil
	}
	return false, errNotFast
}

// parseXMLInt reads an integer as encoding/xml does (empty is 0, an
// optional sign and decimal digits otherwise).
func parseXMLInt(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	b = trimXMLSpace(b)
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, errNotFast
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errNotFast
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}
