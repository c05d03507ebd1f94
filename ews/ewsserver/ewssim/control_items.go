package ewssim

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsserver/ewsmem"
)

// StoredItemJSON is one stored item of GET /sim/v1/mailboxes/{smtp}/items:
// a single item or a recurring master (the id that edits the series).
type StoredItemJSON struct {
	ItemID    string    `json:"item_id"`
	ChangeKey string    `json:"change_key"`
	Subject   string    `json:"subject"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Recurring bool      `json:"recurring"`
}

// ItemPatchJSON is the body of PATCH /sim/v1/mailboxes/{smtp}/items/{id}:
// the fields to change; absent fields stay.
type ItemPatchJSON struct {
	Subject     *string    `json:"subject,omitempty"`
	Location    *string    `json:"location,omitempty"`
	Start       *time.Time `json:"start,omitempty"`
	End         *time.Time `json:"end,omitempty"`
	FreeBusy    *string    `json:"free_busy,omitempty"`
	Sensitivity *string    `json:"sensitivity,omitempty"`
	Cancelled   *bool      `json:"cancelled,omitempty"`
}

func (p ItemPatchJSON) change() ewsmem.ItemChange {
	ch := ewsmem.ItemChange{Subject: p.Subject, Location: p.Location, Start: p.Start, End: p.End, Cancelled: p.Cancelled}
	if p.FreeBusy != nil {
		fb := ews.FreeBusyStatus(*p.FreeBusy)
		ch.FreeBusy = &fb
	}
	if p.Sensitivity != nil {
		s := ews.Sensitivity(*p.Sensitivity)
		ch.Sensitivity = &s
	}
	return ch
}

// itemRoutes completes the item life cycle of the control API. An {id} is
// a single item's, a series' (its master: the whole series) or one
// occurrence's (the item_id GET …/occurrences lists: that occurrence).
func (s *Simulator) itemRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /sim/v1/mailboxes/{smtp}/items", func(w http.ResponseWriter, r *http.Request) {
		items, err := s.CalendarItems(r.PathValue("smtp"))
		if err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		out := make([]StoredItemJSON, 0, len(items))
		for _, it := range items {
			out = append(out, StoredItemJSON{ItemID: it.ItemId.Id, ChangeKey: it.ItemId.ChangeKey, Subject: it.Subject,
				Start: it.Start, End: it.End, Recurring: it.Recurrence != nil})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("PATCH /sim/v1/mailboxes/{smtp}/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in ItemPatchJSON
		if !readJSON(w, r, &in) {
			return
		}
		id, err := s.UpdateCalendarItem(r.PathValue("smtp"), ews.ItemRef{Item: &ews.ItemId{Id: r.PathValue("id")}}, in.change())
		if err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"item_id": id.Id, "change_key": id.ChangeKey})
	})
	mux.HandleFunc("DELETE /sim/v1/mailboxes/{smtp}/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteCalendarItem(r.PathValue("smtp"), ews.ItemRef{Item: &ews.ItemId{Id: r.PathValue("id")}}); err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// jsonErrors answers requests no route matches with a JSON error (404,
// or 405 with Allow when the path exists for other methods) instead of
// the mux's plain text.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, ", "))
			return
		}
		writeProblem(w, http.StatusNotFound, "no control API resource at "+r.URL.Path+" (see docs/simulator.md, Control API)")
	})
}

// itemNotFound reports model errors that mean "no such item".
func itemNotFound(err error) bool {
	code, ok := ews.CodeOf(err)
	return ok && code == ews.ErrorItemNotFound || errors.Is(err, ewsmem.ErrNoMailbox)
}
