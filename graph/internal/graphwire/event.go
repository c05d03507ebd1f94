package graphwire

import "time"

// DateTimeTimeZone is dateTimeTimeZone.
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// ResponseStatus is responseStatus.
type ResponseStatus struct {
	Response string     `json:"response,omitempty"`
	Time     *time.Time `json:"time,omitempty"`
}

// EmailAddress is emailAddress.
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// Recipient is recipient (organizer).
type Recipient struct {
	EmailAddress EmailAddress `json:"emailAddress"`
}

// Attendee is attendee; calsync only counts them.
type Attendee struct {
	Type         string       `json:"type,omitempty"`
	EmailAddress EmailAddress `json:"emailAddress"`
}

// Location is location.
type Location struct {
	DisplayName string `json:"displayName,omitempty"`
}

// Removed is the @removed annotation of a delta entry.
type Removed struct {
	Reason string `json:"reason"`
}

// Event is the event resource, the fields calsync reads. Pointers and
// omitempty keep absent fields absent: delta entries for occurrences carry
// only a few of them, and @removed entries only the id.
type Event struct {
	ODataType             string            `json:"@odata.type,omitempty"`
	ODataETag             string            `json:"@odata.etag,omitempty"`
	ID                    string            `json:"id"`
	CreatedDateTime       *time.Time        `json:"createdDateTime,omitempty"`
	LastModifiedDateTime  *time.Time        `json:"lastModifiedDateTime,omitempty"`
	ChangeKey             string            `json:"changeKey,omitempty"`
	Categories            []string          `json:"categories,omitempty"`
	ICalUID               string            `json:"iCalUId,omitempty"`
	SeriesMasterID        string            `json:"seriesMasterId,omitempty"`
	Type                  string            `json:"type,omitempty"`
	Subject               string            `json:"subject,omitempty"`
	Start                 *DateTimeTimeZone `json:"start,omitempty"`
	End                   *DateTimeTimeZone `json:"end,omitempty"`
	OriginalStartTimeZone string            `json:"originalStartTimeZone,omitempty"`
	OriginalEndTimeZone   string            `json:"originalEndTimeZone,omitempty"`
	IsAllDay              *bool             `json:"isAllDay,omitempty"`
	IsCancelled           *bool             `json:"isCancelled,omitempty"`
	IsOrganizer           *bool             `json:"isOrganizer,omitempty"`
	ShowAs                string            `json:"showAs,omitempty"`
	Sensitivity           string            `json:"sensitivity,omitempty"`
	ResponseStatus        *ResponseStatus   `json:"responseStatus,omitempty"`
	Location              *Location         `json:"location,omitempty"`
	Organizer             *Recipient        `json:"organizer,omitempty"`
	Attendees             []Attendee        `json:"attendees,omitempty"`
	Removed               *Removed          `json:"@removed,omitempty"`
}

// ODataTypeEvent is the @odata.type of events in delta answers.
const ODataTypeEvent = "#microsoft.graph.event"
