package ewswire

import "encoding/xml"

// GetServerTimeZones is m:GetServerTimeZonesType (server side only: the
// simulator answers it because clients such as exchangelib call it before
// GetUserAvailability).
type GetServerTimeZones struct {
	XMLName                xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetServerTimeZones"`
	ReturnFullTimeZoneData *bool    `xml:"ReturnFullTimeZoneData,attr,omitempty"`
	Ids                    *struct {
		Id []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Id"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Ids,omitempty"`
}

// The registry decodes GetServerTimeZones for the server.
func init() {
	requestTypes[xml.Name{Space: NSMessages, Local: "GetServerTimeZones"}] = func() any { return &GetServerTimeZones{} }
}

// GetServerTimeZonesResponse is m:GetServerTimeZonesResponseType.
type GetServerTimeZonesResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetServerTimeZonesResponse"`
	ResponseMessages struct {
		Messages []GetServerTimeZonesResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetServerTimeZonesResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// GetServerTimeZonesResponseMessage is m:GetServerTimeZonesResponseMessageType.
type GetServerTimeZonesResponseMessage struct {
	ResponseMessage
	// TimeZoneDefinitions is required by the schema, error messages
	// included (empty there).
	TimeZoneDefinitions TimeZoneDefinitions `xml:"http://schemas.microsoft.com/exchange/services/2006/messages TimeZoneDefinitions"`
}

// TimeZoneDefinitions is t:ArrayOfTimeZoneDefinitionType.
type TimeZoneDefinitions struct {
	TimeZoneDefinition []FullTimeZoneDefinition `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeZoneDefinition"`
}

// FullTimeZoneDefinition is t:TimeZoneDefinitionType with periods and
// transitions.
type FullTimeZoneDefinition struct {
	Id      string `xml:"Id,attr"`
	Name    string `xml:"Name,attr,omitempty"`
	Periods *struct {
		Period []TZPeriod `xml:"http://schemas.microsoft.com/exchange/services/2006/types Period"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Periods,omitempty"`
	TransitionsGroups *struct {
		TransitionsGroup []TZTransitionsGroup `xml:"http://schemas.microsoft.com/exchange/services/2006/types TransitionsGroup"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types TransitionsGroups,omitempty"`
	Transitions *struct {
		Transition []TZTransition `xml:"http://schemas.microsoft.com/exchange/services/2006/types Transition"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Transitions,omitempty"`
}

// TZPeriod is t:PeriodType (Bias is an xs:duration, UTC = local + bias).
type TZPeriod struct {
	Bias string `xml:"Bias,attr"`
	Name string `xml:"Name,attr"`
	Id   string `xml:"Id,attr"`
}

// TZTo is t:TransitionTargetType.
type TZTo struct {
	Kind  string `xml:"Kind,attr"`
	Value string `xml:",chardata"`
}

// TZTransition is t:TransitionType.
type TZTransition struct {
	To TZTo `xml:"http://schemas.microsoft.com/exchange/services/2006/types To"`
}

// TZRecurringDayTransition is t:RecurringDayTransitionType.
type TZRecurringDayTransition struct {
	To         TZTo   `xml:"http://schemas.microsoft.com/exchange/services/2006/types To"`
	TimeOffset string `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeOffset"`
	Month      int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Month"`
	DayOfWeek  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfWeek"`
	Occurrence int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Occurrence"`
}

// TZTransitionsGroup is t:ArrayOfTransitionsType with an Id.
type TZTransitionsGroup struct {
	Id                     string                     `xml:"Id,attr"`
	Transition             []TZTransition             `xml:"http://schemas.microsoft.com/exchange/services/2006/types Transition"`
	RecurringDayTransition []TZRecurringDayTransition `xml:"http://schemas.microsoft.com/exchange/services/2006/types RecurringDayTransition"`
}
