package ewsmem

import (
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver"
)

// mailbox is one user's mailbox with its calendar folder.
type mailbox struct {
	x        *Exchange
	mu       sync.Mutex
	smtp     string
	name     string
	index    int
	server   int
	folderId string // cached encodeID("F", index)
	// timeZone is the Windows id of the mailbox's time zone ("" = UTC).
	timeZone string

	folderVersion int
	itemSeq       int
	items         map[string]*item
	seq           uint64 // sync change sequence
	tombstones    map[string]tombstone
	syncEpoch     uint32
	oof           ews.OofSettings
	watermarkSeq  uint64
}

type tombstone struct {
	seq        uint64
	createdSeq uint64
}

// item is a calendar item: a single appointment or a recurring master.
type item struct {
	id         string
	version    int
	createdSeq uint64
	seq        uint64
	data       ews.CalendarItem
	exceptions map[int]*exception
	deleted    map[int]bool
}

// exception is a modified occurrence, overriding fields of the master.
type exception struct {
	version int
	data    ews.CalendarItem
}

func newMailbox(x *Exchange, smtp, name string, index, server int) *mailbox {
	return &mailbox{x: x, smtp: smtp, name: name, index: index, server: server, folderId: encodeID("F", strconv.Itoa(index)),
		items: map[string]*item{}, tombstones: map[string]tombstone{}, folderVersion: 1}
}

// Ids are opaque base64 to clients; inside they name the mailbox index, the
// item number and (for occurrences) the instance index.
func encodeID(parts ...string) string {
	return base64.StdEncoding.EncodeToString([]byte("AAMk" + strings.Join(parts, ":")))
}

type decodedID struct {
	kind     string // I item, O occurrence, F folder
	mailbox  int
	item     int
	instance int
	folder   int // F: index in hierarchy ("F:n:i"), -1 for the calendar ("F:n")
}

func decodeID(id string) (decodedID, bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil || !strings.HasPrefix(string(raw), "AAMk") {
		return decodedID{}, false
	}
	parts := strings.Split(string(raw[4:]), ":")
	if len(parts) < 2 {
		return decodedID{}, false
	}
	nums := make([]int, 0, 3)
	for _, p := range parts[1:] {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return decodedID{}, false
		}
		nums = append(nums, n)
	}
	d := decodedID{kind: parts[0], mailbox: nums[0], folder: -1}
	switch {
	case d.kind == "F" && len(nums) == 1:
	case d.kind == "F" && len(nums) == 2 && nums[1] < len(hierarchy):
		d.folder = nums[1]
	case d.kind == "I" && len(nums) == 2:
		d.item = nums[1]
	case d.kind == "O" && len(nums) == 3:
		d.item, d.instance = nums[1], nums[2]
		if d.instance < 1 {
			return decodedID{}, false
		}
	default:
		return decodedID{}, false
	}
	return d, true
}

func (mb *mailbox) folderID() string { return mb.folderId }

func (mb *mailbox) folderRef() ews.FolderId {
	return ews.FolderId{Id: mb.folderID(), ChangeKey: changeKey("F", mb.folderVersion)}
}

func itemIDFor(mbIndex, n int) string { return encodeID("I", strconv.Itoa(mbIndex), strconv.Itoa(n)) }

func occurrenceID(mbIndex, n, instance int) string {
	return encodeID("O", strconv.Itoa(mbIndex), strconv.Itoa(n), strconv.Itoa(instance))
}

// changeKey encodes a version as an opaque ChangeKey.
func changeKey(prefix string, version int) string {
	b := make([]byte, 0, 24)
	b = append(b, "DwAAABYA"...)
	b = append(b, prefix...)
	digits := strconv.Itoa(version)
	for i := len(digits); i < 8; i++ {
		b = append(b, '0')
	}
	b = append(b, digits...)
	return base64.StdEncoding.EncodeToString(b)
}

func (it *item) number() int {
	d, _ := decodeID(it.id)
	return d.item
}

func (it *item) ref() ews.ItemId {
	return ews.ItemId{Id: it.id, ChangeKey: changeKey("C", it.version)}
}

func (it *item) location() *time.Location {
	loc, err := ewsserver.LoadWindowsZone(it.data.StartTimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// masterView renders a single item or recurring master for FindItem,
// GetItem and SyncFolderItems.
func (mb *mailbox) masterView(it *item) ews.CalendarItem {
	c := it.data
	c.ItemId = it.ref()
	c.ParentFolderId = mb.folderRef()
	c.ItemClass = "IPM.Appointment"
	c.Categories = append([]string(nil), it.data.Categories...)
	c.RequiredAttendees = append([]ews.Attendee(nil), it.data.RequiredAttendees...)
	c.EndTimeZone = c.StartTimeZone
	c.OptionalAttendees = append([]ews.Attendee(nil), it.data.OptionalAttendees...)
	c.AppointmentState = appointmentState(&c)
	if it.data.Recurrence == nil {
		c.CalendarItemType = ews.ItemTypeSingle
		c.IsRecurring = false
		return c
	}
	r := *it.data.Recurrence
	c.Recurrence = &r
	c.CalendarItemType = ews.ItemTypeRecurringMaster
	c.IsRecurring = true
	loc := it.location()
	dur := it.data.End.Sub(it.data.Start)
	n := it.number()
	first := true
	_ = ewsserver.Expand(&r, it.data.Start, dur, it.data.IsAllDayEvent, loc, func(in ewsserver.Instance) bool {
		if it.deleted[in.Index] {
			return true
		}
		if first {
			c.FirstOccurrence = &ews.OccurrenceInfo{ItemId: ews.ItemId{Id: occurrenceID(mb.index, n, in.Index), ChangeKey: c.ItemId.ChangeKey},
				Start: in.Start.UTC(), End: in.End.UTC(), OriginalStart: in.Start.UTC()}
			first = false
		}
		return false
	})
	if last, ok, _ := ewsserver.LastInstance(&r, it.data.Start, dur, it.data.IsAllDayEvent, loc); ok {
		c.LastOccurrence = &ews.OccurrenceInfo{ItemId: ews.ItemId{Id: occurrenceID(mb.index, n, last.Index), ChangeKey: c.ItemId.ChangeKey},
			Start: last.Start.UTC(), End: last.End.UTC(), OriginalStart: last.Start.UTC()}
	}
	for _, idx := range sortedInts(it.exceptions) {
		ex := it.exceptions[idx]
		c.ModifiedOccurrences = append(c.ModifiedOccurrences, ews.OccurrenceInfo{
			ItemId: ews.ItemId{Id: occurrenceID(mb.index, n, idx), ChangeKey: changeKey("E", ex.version)},
			Start:  ex.data.Start, End: ex.data.End, OriginalStart: ex.data.OriginalStart})
	}
	for _, idx := range sortedInts(it.deleted) {
		if in, ok, _ := ewsserver.InstanceAt(&r, it.data.Start, dur, it.data.IsAllDayEvent, loc, idx); ok {
			c.DeletedOccurrences = append(c.DeletedOccurrences, ews.DeletedOccurrence{Start: in.Start.UTC()})
		}
	}
	return c
}

// appointmentState is PidLidAppointmentStateFlags: meeting and cancelled
// from IsMeeting and IsCancelled, received for a meeting the user does not
// organise, and bits a client set through the extended property.
func appointmentState(c *ews.CalendarItem) ews.AppointmentState {
	s := ewsserver.AppointmentStateOf(c)
	if c.IsMeeting && c.MyResponseType != ews.ResponseOrganizer {
		s |= ews.AppointmentReceived
	}
	return s
}

// occurrenceView renders instance index of a recurring master (applying an
// exception if there is one).
func (mb *mailbox) occurrenceView(it *item, in ewsserver.Instance) ews.CalendarItem {
	c := it.data
	n := it.number()
	c.Recurrence = nil
	c.ItemClass = "IPM.Appointment"
	c.ParentFolderId = mb.folderRef()
	c.IsRecurring = true
	c.OriginalStart = in.Start.UTC()
	c.RecurrenceId = in.Start.UTC()
	c.Start, c.End = in.Start.UTC(), in.End.UTC()
	c.CalendarItemType = ews.ItemTypeOccurrence
	c.EndTimeZone = c.StartTimeZone
	c.ItemId = ews.ItemId{Id: occurrenceID(mb.index, n, in.Index), ChangeKey: changeKey("C", it.version)}
	if ex, ok := it.exceptions[in.Index]; ok {
		e := ex.data
		c.Subject, c.Location, c.Body = e.Subject, e.Location, e.Body
		c.Start, c.End = e.Start, e.End
		c.LegacyFreeBusyStatus, c.Sensitivity = e.LegacyFreeBusyStatus, e.Sensitivity
		c.IsCancelled, c.IsAllDayEvent, c.MyResponseType = e.IsCancelled, e.IsAllDayEvent, e.MyResponseType
		c.IsMeeting, c.AppointmentState, c.ExtendedProperties = e.IsMeeting, e.AppointmentState, e.ExtendedProperties
		c.CalendarItemType = ews.ItemTypeException
		c.ItemId.ChangeKey = changeKey("E", ex.version)
	}
	c.AppointmentState = appointmentState(&c)
	return c
}

// instancesBetween expands every item overlapping [from, to).
func (mb *mailbox) instancesBetween(from, to time.Time) []ews.CalendarItem {
	var out []ews.CalendarItem
	for _, it := range mb.items {
		if it.data.Recurrence == nil {
			if ewsserver.Overlaps(it.data.Start, it.data.End, from, to) {
				out = append(out, mb.singleView(it))
			}
			continue
		}
		out = append(out, mb.seriesBetween(it, from, to)...)
	}
	ewsserver.SortByStart(out, func(c ews.CalendarItem) time.Time { return c.Start },
		func(c ews.CalendarItem) time.Time { return c.End }, func(c ews.CalendarItem) string { return c.ItemId.Id })
	return out
}

// seriesBetween returns the occurrences and exceptions of a recurring item
// that overlap [from, to). An exception counts where its own times fall,
// however far it was moved from its original date, and never at its
// original date.
func (mb *mailbox) seriesBetween(it *item, from, to time.Time) []ews.CalendarItem {
	var out []ews.CalendarItem
	loc := it.location()
	dur := it.data.End.Sub(it.data.Start)
	_ = ewsserver.Expand(it.data.Recurrence, it.data.Start, dur, it.data.IsAllDayEvent, loc, func(in ewsserver.Instance) bool {
		if !in.Start.Before(to) {
			return false
		}
		if it.deleted[in.Index] || it.exceptions[in.Index] != nil {
			return true
		}
		if ewsserver.Overlaps(in.Start, in.End, from, to) {
			out = append(out, mb.occurrenceView(it, in))
		}
		return true
	})
	for index, ex := range it.exceptions {
		if it.deleted[index] || !ewsserver.Overlaps(ex.data.Start, ex.data.End, from, to) {
			continue
		}
		if in, ok, _ := ewsserver.InstanceAt(it.data.Recurrence, it.data.Start, dur, it.data.IsAllDayEvent, loc, index); ok {
			out = append(out, mb.occurrenceView(it, in))
		}
	}
	return out
}

func (mb *mailbox) singleView(it *item) ews.CalendarItem {
	c := mb.masterView(it)
	return c
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
