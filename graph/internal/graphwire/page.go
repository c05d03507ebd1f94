package graphwire

// Page is an OData collection page: value plus the links that continue it.
// A page may be empty and still carry a nextLink.
type Page[T any] struct {
	ODataContext string `json:"@odata.context,omitempty"`
	Value        []T    `json:"value"`
	// NextLink is the full URL of the next page; use it as it is.
	NextLink string `json:"@odata.nextLink,omitempty"`
	// DeltaLink ends a delta round; call it for the next round.
	DeltaLink string `json:"@odata.deltaLink,omitempty"`
}

// EventPage is a page of events (calendarView, delta, /events).
type EventPage = Page[Event]
