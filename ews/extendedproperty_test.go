package ews_test

import (
	"errors"
	"testing"

	"github.com/calsync/calsync/ews"
)

func TestExtendedFieldURIKey(t *testing.T) {
	flagsByGUID := ews.ExtendedFieldURI{PropertySetId: "00062002-0000-0000-C000-000000000046", PropertyId: "33303", PropertyType: "Integer"}
	a, errA := ews.PidLidAppointmentStateFlags.Key()
	b, errB := flagsByGUID.Key()
	if errA != nil || errB != nil || a != b || a.ID != 0x8217 {
		t.Errorf("Appointment/33303 = %+v, %v; GUID form = %+v, %v; want the same property 0x8217", a, errA, b, errB)
	}
	if k, err := (ews.ExtendedFieldURI{PropertyTag: "0x37", PropertyType: "String"}).Key(); err != nil || k != (ews.PropertyKey{Tag: 0x37}) {
		t.Errorf("PropertyTag 0x37 = %+v, %v", k, err)
	}
	if k, err := (ews.ExtendedFieldURI{PropertyTag: "55", PropertyType: "String"}).Key(); err != nil || k.Tag != 0x37 {
		t.Errorf("PropertyTag 55 = %+v, %v", k, err)
	}
	for _, f := range []ews.ExtendedFieldURI{
		{PropertyTag: "0x8217", PropertyType: "Integer"},                                                        // named range
		{PropertyTag: "0x10000", PropertyType: "Integer"},                                                       // too big
		{DistinguishedPropertySetId: "Appointment", PropertyType: "Integer"},                                    // no id or name
		{DistinguishedPropertySetId: "Calendar", PropertyId: "1", PropertyType: "Integer"},                      // unknown set
		{PropertySetId: "not-a-guid", PropertyName: "x", PropertyType: "String"},                                // bad GUID
		{DistinguishedPropertySetId: "Appointment", PropertyId: "1", PropertyName: "x", PropertyType: "String"}, // both
		{DistinguishedPropertySetId: "Appointment", PropertyId: "1", PropertyType: "Text"},                      // unknown type
		{PropertyTag: "0x37", PropertySetId: "00062002-0000-0000-c000-000000000046", PropertyType: "String"},    // tag with set
	} {
		var fe *ews.ExtendedFieldError
		if _, err := f.Key(); !errors.As(err, &fe) || fe.Code != ews.ErrorInvalidExtendedProperty {
			t.Errorf("%s.Key() = %v, want ErrorInvalidExtendedProperty", f, err)
		}
	}
}

func TestExtendedPropertyCheck(t *testing.T) {
	custom := func(typ string) ews.ExtendedFieldURI {
		return ews.ExtendedFieldURI{DistinguishedPropertySetId: "PublicStrings", PropertyName: "x", PropertyType: typ}
	}
	good := []ews.ExtendedProperty{
		{Field: custom("Integer"), Value: "-2147483648"},
		{Field: custom("Boolean"), Value: "true"},
		{Field: custom("SystemTime"), Value: "2026-03-04T10:00:00Z"},
		{Field: custom("Binary"), Value: "AQID"},
		{Field: custom("CLSID"), Value: "00062002-0000-0000-c000-000000000046"},
		{Field: custom("String"), Value: ""},
		{Field: custom("LongArray"), Values: []string{"1", "9007199254740993"}},
	}
	for _, p := range good {
		if err := p.Check(); err != nil {
			t.Errorf("%s %q %q: %v", p.Field, p.Value, p.Values, err)
		}
	}
	bad := []ews.ExtendedProperty{
		{Field: custom("Integer"), Value: "2147483648"},
		{Field: custom("Short"), Value: "x"},
		{Field: custom("Boolean"), Value: "yes"},
		{Field: custom("SystemTime"), Value: "2026-03-04"},
		{Field: custom("Binary"), Value: "%%%"},
		{Field: custom("StringArray")},
		{Field: custom("String"), Values: []string{"a"}},
		{Field: custom("Object"), Value: "x"},
	}
	for _, p := range bad {
		var fe *ews.ExtendedFieldError
		if err := p.Check(); !errors.As(err, &fe) || fe.Code != ews.ErrorInvalidExtendedPropertyValue {
			t.Errorf("%s %q %q: %v, want ErrorInvalidExtendedPropertyValue", p.Field, p.Value, p.Values, err)
		}
	}
}
