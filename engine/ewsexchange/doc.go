// Package ewsexchange implements engine.Exchange with ews/ewsclient: it
// turns engine calls into EWS operations (Autodiscover GetUserSettings,
// FindItem with CalendarView, GetUserOofSettings, Subscribe, GetEvents,
// GetStreamingEvents, Unsubscribe), converts ews.CalendarItem into
// calendar.Occurrence (convert.go) and wraps client errors into
// *engine.ExchangeError with the EWS code and back-off hint (errors.go).
package ewsexchange
