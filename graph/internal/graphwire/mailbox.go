package graphwire

// MailboxSettings is mailboxSettings (the fields calsync reads).
type MailboxSettings struct {
	ODataContext            string                   `json:"@odata.context,omitempty"`
	TimeZone                string                   `json:"timeZone,omitempty"`
	AutomaticRepliesSetting *AutomaticRepliesSetting `json:"automaticRepliesSetting,omitempty"`
	WorkingHours            *WorkingHours            `json:"workingHours,omitempty"`
	Language                *LocaleInfo              `json:"language,omitempty"`
	DateFormat              string                   `json:"dateFormat,omitempty"`
	TimeFormat              string                   `json:"timeFormat,omitempty"`
}

// AutomaticRepliesSetting is automaticRepliesSetting.
type AutomaticRepliesSetting struct {
	Status                 string            `json:"status,omitempty"`
	ExternalAudience       string            `json:"externalAudience,omitempty"`
	ScheduledStartDateTime *DateTimeTimeZone `json:"scheduledStartDateTime,omitempty"`
	ScheduledEndDateTime   *DateTimeTimeZone `json:"scheduledEndDateTime,omitempty"`
	InternalReplyMessage   string            `json:"internalReplyMessage,omitempty"`
	ExternalReplyMessage   string            `json:"externalReplyMessage,omitempty"`
}

// WorkingHours is workingHours.
type WorkingHours struct {
	DaysOfWeek []string      `json:"daysOfWeek,omitempty"`
	StartTime  string        `json:"startTime,omitempty"`
	EndTime    string        `json:"endTime,omitempty"`
	TimeZone   *TimeZoneBase `json:"timeZone,omitempty"`
}

// TimeZoneBase is timeZoneBase ({"name": …}); a customTimeZone adds
// bias, standardOffset and daylightOffset, which calsync does not read.
type TimeZoneBase struct {
	ODataType string `json:"@odata.type,omitempty"`
	Name      string `json:"name,omitempty"`
}

// LocaleInfo is localeInfo.
type LocaleInfo struct {
	Locale      string `json:"locale,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}
