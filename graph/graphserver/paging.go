package graphserver

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/graph/internal/graphwire"
)

// pageParams reads $top (1–1000; default: odata.maxpagesize, else
// PageSize) and $skip of a collection request.
func (s *Server) pageParams(q url.Values, prefs preferences) (size, skip int, e *apiError) {
	size = s.opts.PageSize
	if prefs.maxPageSize > 0 {
		size = min(prefs.maxPageSize, 1000)
	}
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, errorf(http.StatusBadRequest, "ErrorInvalidParameter", "Invalid page size specified: '%s'. Must be between 1 and 1000 inclusive.", clip(v, 20))
		}
		size = n
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, errorf(http.StatusBadRequest, "ErrorInvalidParameter", "The value '%s' of parameter '$skip' is invalid: want a non-negative integer.", clip(v, 20))
		}
		skip = n
	}
	return size, skip, nil
}

// writeEventPage writes items[skip:skip+size] with a nextLink that repeats
// the request's query with the next $skip.
func (s *Server) writeEventPage(w http.ResponseWriter, r *http.Request, items []ews.CalendarItem, size, skip int, z zone, context string) {
	page := graphwire.EventPage{ODataContext: context, Value: []graphwire.Event{}}
	for i := skip; i < len(items) && i < skip+size; i++ {
		page.Value = append(page.Value, s.renderEvent(items[i], z))
	}
	if skip+size < len(items) {
		next := url.Values{}
		for k, v := range r.URL.Query() {
			next[k] = v
		}
		next.Set("$top", strconv.Itoa(size))
		next.Set("$skip", strconv.Itoa(skip+size))
		page.NextLink = baseURL(r) + r.URL.Path + "?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, page)
}

func metadataContext(smtp, what string) string {
	return "https://graph.microsoft.com/v1.0/$metadata#users('" + url.PathEscape(smtp) + "')/" + what
}
