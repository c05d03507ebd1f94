package ews

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ExtendedFieldURI names a MAPI property (t:PathToExtendedFieldType): a
// tagged property by PropertyTag, or a named property by its property set
// (DistinguishedPropertySetId or PropertySetId) and PropertyId or
// PropertyName. PropertyType is always required. The attributes are kept as
// written, so that a server answers in the form it was asked: clients such
// as exchangelib match the ExtendedFieldURI of an answer against the one
// they sent.
type ExtendedFieldURI struct {
	DistinguishedPropertySetId string
	PropertySetId              string
	PropertyTag                string
	PropertyName               string
	PropertyId                 string
	PropertyType               string
}

// ExtendedProperty is one extended property with its value
// (t:ExtendedPropertyType): Value for single-valued types, Values for the
// …Array types.
type ExtendedProperty struct {
	Field  ExtendedFieldURI
	Value  string
	Values []string
}

// Well-known calendar properties ([MS-OXPROPS]) behind first-class EWS
// properties. Exchange keeps both views of them consistent.
var (
	// PidLidAppointmentStateFlags (PSETID_Appointment 0x8217, PT_LONG):
	// bit 0x1 meeting, 0x2 received, 0x4 cancelled — AppointmentState,
	// IsMeeting and IsCancelled.
	PidLidAppointmentStateFlags = ExtendedFieldURI{DistinguishedPropertySetId: "Appointment", PropertyId: "33303", PropertyType: "Integer"}
	// PidLidBusyStatus (PSETID_Appointment 0x8205, PT_LONG): 0 Free,
	// 1 Tentative, 2 Busy, 3 OOF, 4 WorkingElsewhere — LegacyFreeBusyStatus.
	PidLidBusyStatus = ExtendedFieldURI{DistinguishedPropertySetId: "Appointment", PropertyId: "33285", PropertyType: "Integer"}
)

// distinguishedSets maps t:DistinguishedPropertySetType to the property
// set GUIDs of [MS-OXPROPS] ("Commonly used property sets").
var distinguishedSets = map[string]string{
	"Meeting":           "6ed8da90-450b-101b-98da-00aa003f1305",
	"Appointment":       "00062002-0000-0000-c000-000000000046",
	"Common":            "00062008-0000-0000-c000-000000000046",
	"PublicStrings":     "00020329-0000-0000-c000-000000000046",
	"Address":           "00062004-0000-0000-c000-000000000046",
	"InternetHeaders":   "00020386-0000-0000-c000-000000000046",
	"CalendarAssistant": "11000e07-b51b-40d6-af21-caa85edab1d0",
	"UnifiedMessaging":  "4442858e-a9e3-4e80-b900-317a210cc15b",
	"Task":              "00062003-0000-0000-c000-000000000046",
	"Sharing":           "00062040-0000-0000-c000-000000000046",
}

// PropertyKey is the identity of a MAPI property however a path spells it:
// a tagged property (Set empty) or a named one (Set with ID or Name).
type PropertyKey struct {
	Set  string // lower-case GUID of the property set
	ID   int64
	Name string
	Tag  int
}

// ExtendedFieldError is a path or value the server refuses: Code is
// ErrorInvalidExtendedProperty or ErrorInvalidExtendedPropertyValue.
type ExtendedFieldError struct {
	Code ResponseCode
	Msg  string
}

// Error implements error.
func (e *ExtendedFieldError) Error() string { return e.Msg }

func invalidPath(f ExtendedFieldURI, format string, args ...any) error {
	return &ExtendedFieldError{Code: ErrorInvalidExtendedProperty, Msg: fmt.Sprintf("extended property %s: %s", f, fmt.Sprintf(format, args...))}
}

// String renders the path as its attributes.
func (f ExtendedFieldURI) String() string {
	var b strings.Builder
	for _, kv := range [][2]string{{"DistinguishedPropertySetId", f.DistinguishedPropertySetId}, {"PropertySetId", f.PropertySetId},
		{"PropertyTag", f.PropertyTag}, {"PropertyName", f.PropertyName}, {"PropertyId", f.PropertyId}, {"PropertyType", f.PropertyType}} {
		if kv[1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", kv[0], kv[1])
	}
	return "[" + b.String() + "]"
}

// Key checks the attribute combination the schema allows (a property set
// with PropertyId or PropertyName, or PropertyTag alone; PropertyType
// always) and returns the property's identity. Tags of the named-property
// range 0x8000–0xFFFE are refused: Microsoft documents addressing custom
// properties by tag as prohibited (their tags differ between databases).
func (f ExtendedFieldURI) Key() (PropertyKey, error) {
	if !validPropertyType(f.PropertyType) {
		return PropertyKey{}, invalidPath(f, "PropertyType %q is not a MAPI property type", f.PropertyType)
	}
	set := ""
	switch {
	case f.DistinguishedPropertySetId != "" && f.PropertySetId != "":
		return PropertyKey{}, invalidPath(f, "DistinguishedPropertySetId and PropertySetId exclude each other")
	case f.DistinguishedPropertySetId != "":
		g, ok := distinguishedSets[f.DistinguishedPropertySetId]
		if !ok {
			return PropertyKey{}, invalidPath(f, "unknown DistinguishedPropertySetId")
		}
		set = g
	case f.PropertySetId != "":
		g, ok := canonicalGUID(f.PropertySetId)
		if !ok {
			return PropertyKey{}, invalidPath(f, "PropertySetId is not a GUID")
		}
		set = g
	}
	if f.PropertyTag != "" {
		if set != "" || f.PropertyName != "" || f.PropertyId != "" {
			return PropertyKey{}, invalidPath(f, "PropertyTag is used alone (with PropertyType)")
		}
		tag, err := parseTag(f.PropertyTag)
		if err != nil {
			return PropertyKey{}, invalidPath(f, "%v", err)
		}
		if tag >= 0x8000 && tag <= 0xFFFE {
			return PropertyKey{}, invalidPath(f, "tags 0x8000–0xFFFE are named properties: use a property set with PropertyId or PropertyName")
		}
		return PropertyKey{Tag: tag}, nil
	}
	if set == "" {
		return PropertyKey{}, invalidPath(f, "a named property needs DistinguishedPropertySetId or PropertySetId, a tagged one PropertyTag")
	}
	switch {
	case f.PropertyName != "" && f.PropertyId != "":
		return PropertyKey{}, invalidPath(f, "PropertyName and PropertyId exclude each other")
	case f.PropertyName != "":
		return PropertyKey{Set: set, Name: f.PropertyName}, nil
	case f.PropertyId != "":
		id, err := strconv.ParseInt(f.PropertyId, 10, 32)
		if err != nil {
			return PropertyKey{}, invalidPath(f, "PropertyId is not an integer")
		}
		return PropertyKey{Set: set, ID: id}, nil
	}
	return PropertyKey{}, invalidPath(f, "a property set needs PropertyId or PropertyName")
}

// Multi reports whether the path's type is multi-valued (…Array).
func (f ExtendedFieldURI) Multi() bool { return strings.HasSuffix(f.PropertyType, "Array") }

// Check validates the path and the value(s) against the property type
// (Values for …Array types, Value otherwise).
func (p ExtendedProperty) Check() error {
	if _, err := p.Field.Key(); err != nil {
		return err
	}
	bad := func(v string, why string) error {
		return &ExtendedFieldError{Code: ErrorInvalidExtendedPropertyValue, Msg: fmt.Sprintf("extended property %s: value %q %s", p.Field, cut(v), why)}
	}
	base := strings.TrimSuffix(p.Field.PropertyType, "Array")
	if p.Field.Multi() {
		if len(p.Values) == 0 {
			return bad("", "is not a list: a "+p.Field.PropertyType+" property takes Values")
		}
		for _, v := range p.Values {
			if why := checkScalar(base, v); why != "" {
				return bad(v, why)
			}
		}
		return nil
	}
	if len(p.Values) > 0 {
		return bad(p.Values[0], "is a list: a "+p.Field.PropertyType+" property takes one Value")
	}
	if why := checkScalar(base, p.Value); why != "" {
		return bad(p.Value, why)
	}
	return nil
}

// checkScalar returns why v is not a value of MAPI type t ("" when it is).
func checkScalar(t, v string) string {
	var err error
	switch t {
	case "Short":
		_, err = strconv.ParseInt(v, 10, 16)
	case "Integer":
		_, err = strconv.ParseInt(v, 10, 32)
	case "Long", "Currency":
		_, err = strconv.ParseInt(v, 10, 64)
	case "Float", "Double", "ApplicationTime":
		_, err = strconv.ParseFloat(v, 64)
	case "Boolean":
		if v != "true" && v != "false" && v != "1" && v != "0" {
			return "is not a Boolean"
		}
	case "SystemTime":
		_, err = time.Parse(time.RFC3339, v)
	case "Binary":
		_, err = base64.StdEncoding.DecodeString(v)
	case "CLSID":
		if _, ok := canonicalGUID(v); !ok {
			return "is not a GUID"
		}
	case "Object", "Error", "Null":
		return "cannot be set: " + t + " properties are read-only"
	}
	if err != nil {
		return "is not a valid " + t
	}
	return ""
}

func validPropertyType(t string) bool {
	switch strings.TrimSuffix(t, "Array") {
	case "ApplicationTime", "Binary", "Boolean", "CLSID", "Currency", "Double", "Float", "Integer", "Long", "Short", "SystemTime", "String", "Object":
		return true
	}
	return t == "Error" || t == "Null"
}

func parseTag(s string) (int, error) {
	var v uint64
	var err error
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err = strconv.ParseUint(s[2:], 16, 16)
	} else {
		v, err = strconv.ParseUint(s, 10, 16)
	}
	if err != nil {
		return 0, fmt.Errorf("PropertyTag %q is neither 0x0000–0xFFFF nor 0–65535", s)
	}
	return int(v), nil
}

// canonicalGUID returns the lower-case 8-4-4-4-12 form of a GUID written
// with or without braces.
func canonicalGUID(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) != 36 {
		return "", false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return "", false
			}
		case (r < '0' || r > '9') && (r < 'a' || r > 'f') && (r < 'A' || r > 'F'):
			return "", false
		}
	}
	return strings.ToLower(s), true
}

func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
