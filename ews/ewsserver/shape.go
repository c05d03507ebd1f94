package ewsserver

import (
	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// itemShape is what a request's t:ItemShape asks to see of each item.
type itemShape struct {
	// base is the effective BaseShape: IdOnly with FieldURIs in
	// AdditionalProperties is Default for the backend, which fields then
	// narrows to the named properties.
	base string
	// fields, when set, are the only properties answered (besides the id
	// and the extended properties).
	fields []string
	// extended are the requested extended properties, as asked.
	extended []ews.ExtendedFieldURI
}

// shapeOf reads an ItemShape; an invalid extended property path fails the
// request (ErrorInvalidExtendedProperty), as on Exchange.
func shapeOf(s ewswire.ItemShape) (itemShape, error) {
	out := itemShape{base: s.BaseShape}
	ap := s.AdditionalProperties
	if ap == nil {
		return out, nil
	}
	if out.base == "IdOnly" && len(ap.FieldURI) > 0 {
		out.base = "Default"
		for _, f := range ap.FieldURI {
			out.fields = append(out.fields, f.FieldURI)
		}
	}
	for _, w := range ap.ExtendedFieldURI {
		f := w.ToEWS()
		if _, err := f.Key(); err != nil {
			return itemShape{}, extendedFail(err)
		}
		out.extended = append(out.extended, f)
	}
	return out, nil
}

// items renders items in the shape.
func (s itemShape) items(list []ews.CalendarItem) *ewswire.Items {
	it := &ewswire.Items{}
	for _, c := range list {
		it.CalendarItem = append(it.CalendarItem, *s.item(c))
	}
	return it
}

// item renders one item: its id alone for IdOnly (as Exchange answers
// IdOnly shapes), else every property; in both cases with the requested
// extended properties the item has, and no others.
func (s itemShape) item(c ews.CalendarItem) *ewswire.CalendarItem {
	ext, _ := SelectExtendedProperties(&c, s.extended) // paths checked by shapeOf
	if s.base == "IdOnly" {
		w := &ewswire.CalendarItem{ItemId: ewswire.ItemIdFrom(c.ItemId)}
		for _, p := range ext {
			w.ExtendedProperty = append(w.ExtendedProperty, ewswire.ExtendedPropertyFrom(p))
		}
		return w
	}
	c.ExtendedProperties = ext
	if s.fields != nil {
		return selectFields(ewswire.CalendarItemFrom(c), s.fields)
	}
	return ewswire.CalendarItemFrom(c)
}
